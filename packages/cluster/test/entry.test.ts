import { GCounter, type ReplicaId, Text } from '@concord/crdt';
import { runReplicaId } from '@concord/crdt/internal';
import { SeededRng, seeds } from '@concord/testkit';
import { describe, expect, it } from 'vitest';
import { type DeltaJson, Entry } from '../src/Entry.js';

const NODES = ['a', 'b', 'c'] as ReplicaId[];

interface InFlight {
  to: number;
  delta: DeltaJson;
}

/**
 * Three nodes edit one Text key: inserts and deletes at random positions, and deletes of the
 * key, so several lives of it exist at once; now and then a node restarts from its entry. Deltas arrive late and out of order, a fifth never
 * arrives, and a node that finds a gap takes the sender's whole entry (as anti-entropy does).
 * After every edit the writer's own text must have changed by exactly that edit; at the end,
 * after all pairs exchange whole entries, every node must hold the same text.
 */
function simulate(seed: number): void {
  const rng = new SeededRng(seed);
  const entries = NODES.map(() => Entry.empty(Text));
  const inFlight: InFlight[] = [];
  const text = (i: number): string => (entries[i]!.state() as Text | undefined)?.value() ?? '';
  const deliver = (m: InFlight, from: number): void => {
    const r = entries[m.to]!.applyDelta(m.delta);
    if (r === 'gap') entries[m.to]!.join(Entry.fromJSON(entries[from]!.toJSON()));
  };
  const sent = new Map<InFlight, number>();
  for (let step = 0; step < 120; step++) {
    const i = rng.int(NODES.length);
    const node = NODES[i]!;
    const before = text(i);
    // A node restarts now and then: it reads its entry back and remembers nothing else.
    if (rng.chance(0.05)) entries[i] = Entry.fromJSON(entries[i]!.toJSON());
    const roll = rng.int(10);
    let delta: Omit<DeltaJson, 'k'>;
    if (roll === 0) {
      delta = entries[i]!.delete(node);
      expect(text(i), `seed ${seed} step ${step}: after a delete`).toBe('');
    } else if (roll < 4 && before.length > 0) {
      const pos = rng.int(before.length);
      delta = entries[i]!.update<Text>(node, (t, as) => t.delete(as, pos, 1));
      expect(text(i), `seed ${seed} step ${step}: delete at ${pos}`).toBe(
        before.slice(0, pos) + before.slice(pos + 1),
      );
    } else {
      const pos = rng.int(before.length + 1);
      const letter = String.fromCharCode(97 + rng.int(26));
      delta = entries[i]!.update<Text>(node, (t, as) => t.insert(as, pos, letter));
      expect(text(i), `seed ${seed} step ${step}: insert at ${pos}`).toBe(
        before.slice(0, pos) + letter + before.slice(pos),
      );
    }
    for (let to = 0; to < NODES.length; to++) {
      if (to === i || rng.chance(0.2)) continue;
      const m = { to, delta: { k: 'k', ...delta } as DeltaJson };
      inFlight.push(m);
      sent.set(m, i);
    }
    // Deliver a random few of what is in flight, in a random order.
    for (let n = rng.int(3); n > 0 && inFlight.length > 0; n--) {
      const [m] = inFlight.splice(rng.int(inFlight.length), 1);
      deliver(m!, sent.get(m!)!);
    }
  }
  for (let round = 0; round < 2; round++)
    for (let a = 0; a < NODES.length; a++)
      for (let b = 0; b < NODES.length; b++)
        if (a !== b) entries[a]!.join(Entry.fromJSON(entries[b]!.toJSON()));
  const digests = entries.map((e) => e.digest());
  expect(new Set(digests).size, `seed ${seed}: digests`).toBe(1);
  expect(new Set(entries.map((_, i) => text(i))).size, `seed ${seed}: texts`).toBe(1);
}

describe('Entry', () => {
  it('every edit shows on its writer at once and all nodes converge, however many lives a key has', () => {
    for (const seed of seeds(100)) {
      try {
        simulate(seed);
      } catch (e) {
        throw new Error(`SEED=${seed} replays this: ${(e as Error).message}`, { cause: e });
      }
    }
  });

  it('a write that saw several lives folds them; a node writing after its delete counts afresh', () => {
    const [a, b, c] = ['a', 'b', 'c'] as [ReplicaId, ReplicaId, ReplicaId];
    const onA = Entry.empty(GCounter);
    const onC = Entry.empty(GCounter);
    const count = (e: Entry) => (e.state() as GCounter | undefined)?.value();
    const send = (to: Entry, d: Omit<DeltaJson, 'k'>) =>
      expect(to.applyDelta({ k: 'k', ...d })).toBe('applied');
    // a counts 5 in the life it began; b began another at the same time and counted 1.
    send(
      onC,
      onA.update<GCounter>(a, (g, as) => g.increment(as, 5)),
    );
    const byB = Entry.empty(GCounter).update<GCounter>(b, (g, as) => g.increment(as, 1));
    send(onC, byB);
    expect(count(onC)).toBe(6);
    // c's write sees both lives and folds them: each holds a's 5, b's 1 and c's 1.
    const folded = onC.update<GCounter>(c, (g, as) => g.increment(as, 1));
    expect(folded.fold).toHaveLength(1);
    expect(count(onC)).toBe(7);
    // Meanwhile a deletes the one life it saw and counts 1 in a new one.
    const deleted = onA.delete(a);
    const again = onA.update<GCounter>(a, (g, as) => g.increment(as, 1));
    expect(count(onA)).toBe(1);
    send(onA, byB);
    send(onA, folded);
    send(onC, deleted);
    send(onC, again);
    // c's write survives the delete it did not see, with what it built on; a's new count is
    // not hidden by its old one (its new life counts as a new run).
    expect(count(onA)).toBe(8);
    expect(count(onC)).toBe(8);
    expect(onA.digest()).toBe(onC.digest());
  });

  it('refuses a delta that folds more lives than a key can have, taking in nothing', () => {
    const onA = Entry.empty(GCounter);
    const delta = Entry.empty(GCounter).update<GCounter>('b' as ReplicaId, (g, as) => g.increment(as, 1));
    const fold = Array.from({ length: 257 }, (_, i): [string, number] => [`n${i}`, 1]);
    expect(() => onA.applyDelta({ k: 'k', ...delta, fold })).toThrow(/at most 256 lives/);
    expect(onA.state()).toBeUndefined();
    expect(onA.applyDelta({ k: 'k', ...delta, fold: fold.slice(0, 2) })).toBe('applied');
    expect((onA.state() as GCounter).value()).toBe(1);
  });

  it('a node restarted from its saved entry continues its run', () => {
    const a = 'a' as ReplicaId;
    let onA = Entry.empty(GCounter);
    for (let i = 0; i < 3; i++) {
      onA.update<GCounter>(a, (g, as) => g.increment(as, 1));
      onA = Entry.fromJSON(JSON.parse(JSON.stringify(onA.toJSON())));
    }
    const counter = onA.state() as GCounter;
    expect(counter.value()).toBe(3);
    expect(counter.get(runReplicaId(a, 1))).toBe(3);
    // Deleted and written again: a new run, named after that write's dot (the fifth).
    onA.delete(a);
    onA.update<GCounter>(a, (g, as) => g.increment(as, 1));
    expect((Entry.fromJSON(onA.toJSON()).state() as GCounter).get(runReplicaId(a, 5))).toBe(1);
    expect(() => Entry.fromJSON({ ...onA.toJSON(), own: ['a', 0, []] })).toThrow(/malformed run/);
  });
});
