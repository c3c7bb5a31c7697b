import { VersionVector } from '@concord/crdt';
import { Database } from '@concord/db';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ChangeLog } from '../src/ChangeLog.js';

/**
 * `ChangeLog.reaches` — how long a node behind a client's cursor waits to catch up before it
 * takes the cursor for another history's (and sends the client everything). Only the database
 * takes part, so it is called on it alone, on fake timers.
 */
const reaches = (db: Database, version: VersionVector, timeoutMs: number) =>
  ChangeLog.prototype.reaches.call({ o: { db } } as unknown as ChangeLog, version, timeoutMs);

afterEach(() => {
  vi.useRealTimers();
});

describe('a node behind a cursor', () => {
  it('waits for as long as it comes closer, however long that takes in all', async () => {
    vi.useFakeTimers();
    const writer = await Database.open();
    for (let i = 0; i < 4; i++) await writer.collection('notes').upsert({ _id: `n${i}` });
    const set = await writer.changesSince(new VersionVector());
    if (set.kind !== 'changes') throw new Error('expected changes');
    const node = await Database.open();
    const answer = reaches(node, writer.version(), 1_000);
    // One change every 900 ms: 3.6 s in all, never 1 s without coming closer.
    for (const c of set.changes) {
      await vi.advanceTimersByTimeAsync(900);
      await node.applyChanges([c]);
    }
    expect(await answer).toBe(true);
  });

  it('gives up once it has come no closer for the timeout, busy or not', async () => {
    vi.useFakeTimers();
    const node = await Database.open();
    const foreign = new VersionVector();
    foreign.advance('another-history' as never, 5);
    const answer = reaches(node, foreign, 1_000);
    // The node's own writes move its version, not towards the cursor.
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(400);
      await node.collection('notes').upsert({ _id: `own${i}` });
    }
    expect(await answer).toBe(false);
  });
});
