// The CRDT catalogue: mutate, merge, encode and decode rates at 1k and 100k elements, and the
// encoded size per element. One op of merge/encode/decode handles the whole state.
import {
  CausalRegister,
  type Crdt,
  decodeCrdt,
  encodeCrdt,
  Flag,
  GCounter,
  GSet,
  HybridLogicalClock,
  LWWMap,
  LWWRegister,
  MVRegister,
  merge,
  ORMap,
  ORSet,
  PNCounter,
  type ReplicaId,
  replicaId,
  TwoPhaseSet,
} from '@concord/crdt';
import { opsPerSecond, progress, type Result } from './harness.js';

const WRITERS = ['store-1', 'store-2', 'store-3', 'store-4'].map(replicaId);
const MUTATIONS = 1000;

interface Workload<T extends Crdt> {
  readonly name: string;
  /** Two overlapping states of `n` elements, built by replicas `a` and `b`. */
  build(n: number): [T, T];
  /** Mutates an existing element (or adds one, for grow-only types); `i` varies the input. */
  mutate(state: T, i: number): void;
  /** Elements in a state built with `n`: what bytes are divided by. */
  elements(n: number): number;
}

let time = 1_700_000_000_000;
const clocks = new Map(WRITERS.map((w) => [w, new HybridLogicalClock(w, { now: () => time++ })]));
const now = (w: ReplicaId) => clocks.get(w)!.now();
const w = (i: number) => WRITERS[i % WRITERS.length]!;
const sku = (i: number) => `sku-${i}`;

function pair<T extends Crdt>(
  empty: () => T,
  fill: (s: T, i: number, writer: ReplicaId) => void,
  n: number,
): [T, T] {
  const a = empty();
  for (let i = 0; i < n; i++) fill(a, i, w(i));
  const b = a.clone();
  // b diverges on a tenth of the elements, as two replicas apart for a while would.
  for (let i = 0; i < n / 10; i++) fill(b, i * 7, w(i + 1));
  return [a, b];
}

const single = <T extends Crdt>(empty: () => T, write: (s: T, i: number) => void, n: number): [T, T] => {
  const a = empty();
  for (let i = 0; i < n; i++) write(a, i);
  const b = a.clone();
  write(b, n);
  return [a, b];
};

/** Erases the state type so workloads of different types sit in one list. */
function workload<T extends Crdt>(w: Workload<T>): Workload<Crdt> {
  return w as unknown as Workload<Crdt>;
}

const WORKLOADS: Workload<Crdt>[] = [
  workload({
    name: 'GCounter',
    build: (n) => pair(GCounter.empty, (s, i) => s.increment(replicaId(`r${i}`), 1), n),
    mutate: (s: GCounter, i) => s.increment(replicaId(`r${i % 1000}`), 1),
    elements: (n) => n,
  }),
  workload({
    name: 'PNCounter',
    build: (n) => pair(PNCounter.empty, (s, i) => s.increment(replicaId(`r${i}`), i % 2 ? 1 : -1), n),
    mutate: (s: PNCounter, i) => s.increment(replicaId(`r${i % 1000}`), -1),
    elements: (n) => n,
  }),
  workload({
    name: 'GSet',
    build: (n) => pair(GSet.empty, (s, i) => s.add(sku(i)), n),
    mutate: (s: GSet, i) => s.add(`new-${i}`),
    elements: (n) => n,
  }),
  workload({
    name: 'TwoPhaseSet',
    build: (n) => pair(TwoPhaseSet.empty, (s, i) => (i % 10 === 9 ? s.remove(sku(i - 1)) : s.add(sku(i))), n),
    mutate: (s: TwoPhaseSet, i) => s.add(`new-${i}`),
    elements: (n) => n,
  }),
  workload({
    name: 'ORSet',
    build: (n) => pair(ORSet.empty, (s, i, writer) => s.add(writer, sku(i)), n),
    mutate: (s: ORSet, i) => s.add(w(i), sku(i % 1000)),
    elements: (n) => n,
  }),
  workload({
    name: 'LWWMap',
    build: (n) => pair(LWWMap.empty, (s, i, writer) => s.set(now(writer), sku(i), { price: i / 100 }), n),
    mutate: (s: LWWMap, i) => s.set(now(w(i)), sku(i % 1000), { price: i }),
    elements: (n) => n,
  }),
  workload({
    name: 'ORMap<CausalRegister>',
    build: (n) =>
      pair(
        ORMap.empty,
        (s, i, writer) => s.update(writer, sku(i), CausalRegister, (r) => r.set(now(writer), i / 100)),
        n,
      ),
    mutate: (s: ORMap, i) => s.update(w(i), sku(i % 1000), CausalRegister, (r) => r.set(now(w(i)), i)),
    elements: (n) => n,
  }),
  workload({
    name: 'ORMap<PNCounter>',
    build: (n) =>
      pair(
        ORMap.empty,
        (s, i, writer) => s.update(writer, sku(i), PNCounter, (c, as) => c.increment(as, 1)),
        n,
      ),
    mutate: (s: ORMap, i) => s.update(w(i), sku(i % 1000), PNCounter, (c, as) => c.increment(as, 1)),
    elements: (n) => n,
  }),
  workload({
    name: 'LWWRegister',
    build: (n) => single(LWWRegister.empty, (s, i) => s.set(now(w(i)), i), n),
    mutate: (s: LWWRegister, i) => s.set(now(w(i)), i),
    elements: () => 1,
  }),
  workload({
    name: 'MVRegister',
    build: (n) => single(MVRegister.empty, (s, i) => s.set(w(i), i), n),
    mutate: (s: MVRegister, i) => s.set(w(i), i),
    elements: () => 1,
  }),
  workload({
    name: 'CausalRegister',
    build: (n) => single(CausalRegister.empty, (s, i) => s.set(now(w(i)), i), n),
    mutate: (s: CausalRegister, i) => s.set(now(w(i)), i),
    elements: () => 1,
  }),
  workload({
    name: 'Flag',
    build: (n) => single(Flag.empty, (s, i) => (i % 3 ? s.enable(w(i)) : s.disable()), n),
    mutate: (s: Flag, i) => (i % 2 ? s.enable(w(i)) : s.disable()),
    elements: () => 1,
  }),
];

export function catalogueSuite(sizes: readonly number[]): Result[] {
  const results: Result[] = [];
  for (const wl of WORKLOADS) {
    for (const n of sizes) {
      progress(`catalogue/${n} ${wl.name}`);
      const [a, b] = wl.build(n);
      const suite = `catalogue/${n >= 1000 ? `${n / 1000}k` : n}`;
      const add = (metric: string, value: number) => results.push({ suite, system: wl.name, metric, value });
      const work = a.clone();
      let i = 0;
      add(
        'mutate ops/s',
        opsPerSecond(() => {
          for (let k = 0; k < MUTATIONS; k++) wl.mutate(work, i++);
        }, MUTATIONS),
      );
      add(
        'merge ops/s',
        opsPerSecond(() => merge(a, b)),
      );
      const bytes = encodeCrdt(a);
      add(
        'encode ops/s',
        opsPerSecond(() => encodeCrdt(a)),
      );
      add(
        'decode ops/s',
        opsPerSecond(() => decodeCrdt(bytes)),
      );
      add('bytes/element', bytes.length / wl.elements(n));
    }
  }
  return results;
}
