import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventMeta, MemoryJournal, type Ordering, ReplicatedEntity } from '@concord/cluster';
import { SqliteJournal } from '@concord/cluster/sqlite';
import { decodeCrdt, encodeCrdt, PNCounter, replicaId } from '@concord/crdt';
import { SeededRng } from '@concord/testkit';
import { describe, expect, it } from 'vitest';

const REPLICAS = ['r1', 'r2', 'r3'];

/** A log of lines: appending does not commute, so only a total order makes replicas agree. */
type Line = { text: string };
function logEntity(
  replica: string,
  ordering: Ordering,
  journal = new MemoryJournal(),
  clock = { now: () => 1000 },
) {
  return ReplicatedEntity.open<string[], string, Line>({
    persistenceId: 'log',
    replica,
    replicas: REPLICAS,
    emptyState: [],
    commandHandler: (_state, text) => ({ text }),
    eventHandler: (state, e) => [...state, e.text],
    ordering,
    journal,
    snapshotEvery: 4,
    clock,
  });
}

/** Moves what `to` lacks from `from`, as a replication would. */
async function exchange<S, C, E>(
  from: ReplicatedEntity<S, C, E>,
  to: ReplicatedEntity<S, C, E>,
  limit = 1000,
) {
  await to.deliver(await from.eventsAfter(to.version(), limit));
}

describe('ReplicatedEntity', () => {
  it("'timestamp' ordering: any handler converges, whatever the delivery order (seeded)", async () => {
    for (let run = 0; run < 20; run++) {
      const seed = Number(process.env.SEED ?? 5000 + run);
      const rng = new SeededRng(seed);
      let time = 1000;
      const clock = { now: () => time };
      const nodes = await Promise.all(
        REPLICAS.map((r) => logEntity(r, 'timestamp', new MemoryJournal(), clock)),
      );
      try {
        for (let step = 0; step < 60; step++) {
          if (rng.chance(0.3)) time += rng.int(3);
          const a = nodes[rng.int(3)]!;
          if (rng.chance(0.6)) await a.command(`${a.replica}-${step}`);
          else await exchange(a, nodes[rng.int(3)]!, 1 + rng.int(4)); // partial batches too
        }
        for (let i = 0; i < 3; i++) for (const a of nodes) for (const b of nodes) await exchange(a, b);
        expect(nodes[1]!.state).toEqual(nodes[0]!.state);
        expect(nodes[2]!.state).toEqual(nodes[0]!.state);
        expect(new Set(nodes[0]!.state).size).toBe(nodes[0]!.state.length);
      } catch (e) {
        console.error(
          `replay with: SEED=${seed} npx vitest run packages/cluster/test/replicated-entity.test.ts`,
        );
        throw e;
      }
    }
  });

  it("'arrival' ordering diverges for that handler, and the events say they were concurrent", async () => {
    const [a, b] = await Promise.all(['r1', 'r2'].map((r) => logEntity(r, 'arrival')));
    const seen: EventMeta[] = [];
    b!.subscribe((_s, _e, meta) => seen.push(meta));
    await a!.command('from a');
    await b!.command('from b');
    await exchange(a!, b!);
    await exchange(b!, a!);
    expect(a!.state).toEqual(['from a', 'from b']);
    expect(b!.state).toEqual(['from b', 'from a']);
    expect(seen.map((m) => [m.origin, m.concurrent, m.local])).toEqual([
      ['r2', false, true],
      ['r1', true, false],
    ]);
  });

  it('CRDT state in events converges under arrival order; a custom merge sees concurrent events', async () => {
    type State = { count: PNCounter; last: string; conflicts: number };
    const delta = (d: PNCounter) => Buffer.from(encodeCrdt(d)).toString('base64');
    const counter = (b64: string) => decodeCrdt(Buffer.from(b64, 'base64'), PNCounter);
    const open = (replica: string) =>
      ReplicatedEntity.open<State, number, { delta: string; name: string }>({
        persistenceId: 'counter',
        replica,
        replicas: REPLICAS,
        emptyState: { count: PNCounter.empty(), last: '', conflicts: 0 },
        stateCodec: {
          encode: (s) => ({ ...s, count: delta(s.count) }),
          decode: (j) => {
            const s = j as { count: string; last: string; conflicts: number };
            return { ...s, count: counter(s.count) };
          },
        },
        // The event carries the counter's delta, as Akka's Counter does.
        commandHandler: (state, by) => ({
          delta: delta(state.count.clone().increment(replicaId(replica), by)),
          name: `${replica}+${by}`,
        }),
        eventHandler: (state, e) => ({
          ...state,
          count: state.count.clone().join(counter(e.delta)),
          last: e.name,
        }),
        merge: (state, e, meta) => ({
          ...state,
          count: state.count.clone().join(counter(e.delta)),
          conflicts: state.conflicts + 1,
          // Last writer wins for the name, by hybrid clock then replica: kept if it sorts first.
          last: meta.timestamp.replica > state.last ? e.name : state.last,
        }),
      });
    const nodes = await Promise.all(REPLICAS.map(open));
    await Promise.all(nodes.map((n, i) => n.command(i + 1)));
    await Promise.all(nodes.map((n, i) => n.command(10 * (i + 1))));
    for (const a of nodes) for (const b of nodes) if (a !== b) await exchange(a, b);
    expect(nodes.map((n) => n.state.count.value())).toEqual([66, 66, 66]);
    // Each replica received the other two's two events, all written concurrently with its own.
    expect(nodes.map((n) => n.state.conflicts)).toEqual([4, 4, 4]);
  });

  it.each(['arrival', 'timestamp'] as const)(
    'recovers from its SQLite journal: snapshot, then only the events after it (%s)',
    async (ordering) => {
      const path = join(mkdtempSync(join(tmpdir(), 'res-')), 'r1.db');
      let replayed = 0;
      const open = () =>
        ReplicatedEntity.open<number, number, number>({
          persistenceId: 'sum',
          replica: 'r1',
          replicas: ['r1', 'r2'],
          emptyState: 0,
          commandHandler: (_s, n) => n,
          eventHandler: (s, n, meta) => {
            if (meta.replaying) replayed++;
            return s + n;
          },
          journal: new SqliteJournal(path),
          snapshotEvery: 10,
          ordering,
        });
      const a = await open();
      for (let i = 1; i <= 25; i++) await a.command(i);
      await a.close();
      const again = await open();
      expect(again.state).toBe(325);
      expect(replayed).toBe(5); // 20 in the snapshot, 5 after it
      expect(again.version().get('r1' as never)).toBe(25);
      expect(await again.command(1)).toBe(326);
      await again.close();
    },
  );

  it('refuses events it cannot trust, and applies events only after what they depend on', async () => {
    const [a, b, c] = await Promise.all(REPLICAS.map((r) => logEntity(r, 'timestamp')));
    await a!.command('a1');
    await exchange(a!, b!);
    await b!.command('b1 after a1');
    // c hears b's event first: it waits for a1, which it depends on.
    await c!.deliver(await b!.eventsAfter(a!.version(), 10));
    expect(c!.state).toEqual([]);
    await c!.deliver([
      {
        persistenceId: 'log',
        origin: 'mallory',
        seq: 1,
        version: {},
        timestamp: { wall: 1, logical: 0, replica: 'mallory' as never },
        payload: { text: 'x' },
      },
    ]);
    await c!.deliver([{ nonsense: true } as never]);
    await exchange(a!, c!);
    expect(c!.state).toEqual(['a1', 'b1 after a1']);
  });
});
