import {
  CausalRegister,
  type Crdt,
  type CrdtType,
  Flag,
  GCounter,
  GSet,
  HybridLogicalClock,
  type Json,
  List,
  LWWMap,
  LWWRegister,
  MVRegister,
  ORMap,
  ORSet,
  PNCounter,
  type ReplicaId,
  replicaId,
  Text,
  TwoPhaseSet,
  typeOf,
} from '@concord/crdt';
import type { Rng } from '@concord/testkit';

/** A replica as the tests drive it: an id and a clock on a fake, injected time line. */
export interface Actor {
  readonly id: ReplicaId;
  readonly clock: HybridLogicalClock;
}

export function makeActors(n: number, rng: Rng): Actor[] {
  return Array.from({ length: n }, (_, i) => {
    const id = replicaId(`r${i}`);
    let time = 1_000_000 + rng.int(1000);
    // Each read moves time forward a little, by a replica-specific skew: clocks disagree.
    return { id, clock: new HybridLogicalClock(id, { now: () => (time += rng.int(3)) }) };
  });
}

/** How the tests mutate one type at random. Every mutation returns its delta. */
export interface Spec<T extends Crdt = Crdt> {
  readonly type: CrdtType<T>;
  mutate(state: T, actor: Actor, rng: Rng, depth: number): T;
}

const ELEMENTS: readonly Json[] = [
  0,
  1,
  2,
  -7,
  2.5,
  'a',
  'b',
  'héllo',
  '',
  null,
  true,
  [1, 'x'],
  { k: 'v', n: [0] },
];
const KEYS = ['a', 'b', 'c', 'd'];
const WORDS = ['a', 'bc', 'def', 'xyz!', 'é', ' '];

const element = (rng: Rng): Json => ELEMENTS[rng.int(ELEMENTS.length)]!;
const key = (rng: Rng): string => KEYS[rng.int(KEYS.length)]!;

function spec<T extends Crdt>(type: CrdtType<T>, mutate: Spec<T>['mutate']): Spec<T> {
  return { type, mutate };
}

export const SPECS: readonly Spec[] = [
  spec(GCounter, (s, a, rng) => s.increment(a.id, rng.int(5))),
  spec(PNCounter, (s, a, rng) => s.increment(a.id, rng.int(11) - 5)),
  spec(GSet, (s, _a, rng) => s.add(element(rng))),
  spec(TwoPhaseSet, (s, _a, rng) => (rng.int(3) === 0 ? s.remove(element(rng)) : s.add(element(rng)))),
  spec(LWWRegister, (s, a, rng) => s.set(a.clock.now(), element(rng))),
  spec(LWWMap, (s, a, rng) =>
    rng.int(3) === 0 ? s.remove(a.clock.now(), key(rng)) : s.set(a.clock.now(), key(rng), element(rng)),
  ),
  spec(Flag, (s, a, rng) => (rng.int(2) === 0 ? s.disable() : s.enable(a.id))),
  spec(ORSet, (s, a, rng) => {
    const c = rng.int(10);
    return c === 0 ? s.clear() : c < 4 ? s.remove(element(rng)) : s.add(a.id, element(rng));
  }),
  spec(MVRegister, (s, a, rng) => (rng.int(5) === 0 ? s.clear() : s.set(a.id, element(rng)))),
  spec(CausalRegister, (s, a, rng) => (rng.int(5) === 0 ? s.clear() : s.set(a.clock.now(), element(rng)))),
  spec(Text, (s, a, rng) => {
    const n = s.length;
    if (n > 0 && rng.int(3) === 0) {
      const pos = rng.int(n);
      return s.delete(a.id, pos, 1 + rng.int(Math.min(4, n - pos)));
    }
    return s.insert(a.id, rng.int(n + 1), WORDS[rng.int(WORDS.length)]!);
  }),
  spec(List, (s, a, rng, depth) => {
    const n = s.length;
    const c = rng.int(6);
    if (n > 0 && c === 0) {
      const pos = rng.int(n);
      return s.delete(a.id, pos, 1 + rng.int(Math.min(3, n - pos)));
    }
    if (n > 0 && c <= 2) {
      // Update a nested CRDT element if there is one near a random position.
      const pos = rng.int(n);
      const e = s.get(pos);
      const nested = SPECS.find((sp) => typeof e === 'object' && e !== null && typeOf(e as Crdt) === sp.type);
      if (nested) return s.update(a.id, pos, nested.type, (el) => nested.mutate(el, a, rng, depth + 1));
    }
    if (rng.int(2) === 0) return s.insert(a.id, rng.int(n + 1), element(rng), element(rng));
    const nested = pickNested(rng, depth);
    const fresh = nested.type.empty();
    nested.mutate(fresh, a, rng, depth + 1);
    return s.insert(a.id, rng.int(n + 1), fresh);
  }),
  spec(ORMap, (s, a, rng, depth) => {
    if (rng.int(4) === 0)
      return s.remove(key(rng), rng.int(2) === 0 ? undefined : pickNested(rng, depth).type);
    const nested = pickNested(rng, depth);
    // A plain CRDT's operations are made as the id the map gives: the replica's run.
    return s.update(a.id, key(rng), nested.type, (field, as) =>
      nested.mutate(field, { id: as, clock: a.clock }, rng, depth + 1),
    );
  }),
];

/** Map fields and list elements of any type, maps and lists nested up to three deep. */
function pickNested(rng: Rng, depth: number): Spec {
  const candidates = depth >= 2 ? SPECS.filter((s) => s.type !== ORMap && s.type !== List) : SPECS;
  return candidates[rng.int(candidates.length)]!;
}
