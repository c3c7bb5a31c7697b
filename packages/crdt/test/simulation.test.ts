import { type Crdt, decodeCrdt, encodeCrdt, GCounter, List, ORMap, PNCounter, Text } from '@concord/crdt';
import { SeededRng, seeds } from '@concord/testkit';
import { describe, it } from 'vitest';
import { expectEqual } from './support/scenario.js';
import { makeActors, SPECS, type Spec } from './support/specs.js';

const REPLICAS = 5;
const STEPS = 120;

interface Message {
  readonly type: number; // index into SPECS
  readonly delta: Crdt;
}

/**
 * One seeded run: 5 replicas each hold one state of every type, mutate at random and send each
 * delta to every other replica through a queue that drops, duplicates and reorders; a random
 * subset of messages goes through encode/decode on the way. A final anti-entropy round
 * exchanges whole states. Every replica must then hold identical states.
 */
function simulate(seed: number, specs: readonly Spec[]): void {
  const rng = new SeededRng(seed);
  const actors = makeActors(REPLICAS, rng);
  const replicas = actors.map(() => specs.map((s) => s.type.empty()));
  const inboxes: Message[][] = actors.map(() => []);

  const deliver = (to: number, m: Message) => {
    const delta = rng.chance(0.3) ? decodeCrdt(encodeCrdt(m.delta)) : m.delta;
    replicas[to]![m.type]!.join(delta as never);
  };

  for (let step = 0; step < STEPS; step++) {
    const i = rng.int(REPLICAS);
    const t = rng.int(specs.length);
    const delta = specs[t]!.mutate(replicas[i]![t]!, actors[i]!, rng, 0);
    for (let j = 0; j < REPLICAS; j++) {
      if (j === i || rng.chance(0.15)) continue; // dropped
      inboxes[j]!.push({ type: t, delta });
      if (rng.chance(0.1)) inboxes[j]!.push({ type: t, delta }); // duplicated
    }
    // Deliver a few messages, each from a random position in its queue: reordering.
    for (let k = rng.int(4); k > 0; k--) {
      const j = rng.int(REPLICAS);
      const inbox = inboxes[j]!;
      if (inbox.length > 0) deliver(j, inbox.splice(rng.int(inbox.length), 1)[0]!);
    }
  }

  // Anti-entropy: everyone's full state into replica 0, then replica 0's into everyone.
  for (let t = 0; t < specs.length; t++) {
    for (let j = 1; j < REPLICAS; j++) replicas[0]![t]!.join(roundTripMaybe(replicas[j]![t]!, rng) as never);
    for (let j = 1; j < REPLICAS; j++) replicas[j]![t]!.join(roundTripMaybe(replicas[0]![t]!, rng) as never);
    for (let j = 1; j < REPLICAS; j++) expectEqual(replicas[j]![t]!, replicas[0]![t]!);
  }
}

function roundTripMaybe(state: Crdt, rng: SeededRng): Crdt {
  return rng.chance(0.5) ? decodeCrdt(encodeCrdt(state)) : state.clone();
}

/**
 * One map field, often removed and written again, holding the plain CRDTs that number a
 * replica's operations (sequences, counters): a writer whose earlier states were dropped must
 * not number its operations as they were numbered before (`Embedded.update`).
 */
const REWRITTEN: Spec = {
  type: ORMap,
  mutate: (s, a, rng, depth) => {
    const m = s as ORMap;
    if (rng.int(3) === 0) return m.remove('x');
    const type = [Text, List, GCounter, PNCounter][rng.int(4)];
    const nested = SPECS.find((sp) => sp.type === type)!;
    return m.update(a.id, 'x', nested.type, (field, as) =>
      nested.mutate(field, { id: as, clock: a.clock }, rng, depth + 1),
    );
  },
};

describe.each([
  ['every type', SPECS],
  ['a map field removed and written again', [REWRITTEN]],
] as const)('seeded multi-replica simulation: %s', (name, specs) => {
  it.each(seeds(200))('seed %i converges', (seed) => {
    try {
      simulate(seed, specs);
    } catch (e) {
      // The seed is the whole reproduction: SEED=<n> npm test -- simulation
      console.error(
        `simulation (${name}) failed — replay with: SEED=${seed} npx vitest run packages/crdt/test/simulation.test.ts`,
      );
      throw e;
    }
  });
});
