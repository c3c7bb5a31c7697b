import { decodeCrdt, encodeCrdt, Text, VersionVector } from '@concord/crdt';
import {
  CONCURRENT_TRACES,
  concordText,
  loadTrace,
  replayConcurrent,
  replaySequential,
  SEQUENTIAL_TRACES,
} from '@concord/testkit';
import { describe, expect, it } from 'vitest';

// Real editing histories (bench/data): replaying them must give exactly their final text.
describe.each(SEQUENTIAL_TRACES)('trace %s', (name) => {
  const trace = loadTrace(name);

  it('replays to exactly the final text, and survives encode/decode', () => {
    const doc = replaySequential(concordText, trace);
    expect(doc.text.value()).toBe(trace.endContent);
    const loaded = decodeCrdt(encodeCrdt(doc.text), Text);
    expect(loaded.value()).toBe(trace.endContent);
    expect(loaded.equals(doc.text)).toBe(true);
  });

  it('a replica that syncs halfway and again at the end receives only what changed', () => {
    const a = concordText.create(0);
    const b = Text.empty();
    const half = trace.txns.length >> 1;
    let synced = new VersionVector();
    trace.txns.forEach((txn, i) => {
      for (const [pos, del, ins] of txn.patches) {
        if (del > 0) concordText.delete(a, pos, del);
        if (ins.length > 0) concordText.insert(a, pos, ins);
      }
      if (i === half || i === trace.txns.length - 1) {
        const delta = a.text.deltaSince(synced);
        b.join(decodeCrdt(encodeCrdt(delta), Text));
        synced = b.version();
      }
    });
    expect(b.value()).toBe(trace.endContent);
    expect(b.equals(a.text)).toBe(true);
    // Nothing more to send once in sync.
    expect(encodeCrdt(a.text.deltaSince(b.version())).length).toBeLessThan(8);
  });
});

describe.each(CONCURRENT_TRACES)('concurrent trace %s', (name) => {
  it('replays branch by branch and merges to exactly the final text', () => {
    const trace = loadTrace(name);
    const doc = replayConcurrent(concordText, trace);
    expect(doc.text.value()).toBe(trace.endContent);
  });
});
