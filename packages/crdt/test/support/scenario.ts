import { type Crdt, decodeCrdt, encodeCrdt } from '@concord/crdt';
import type { Rng } from '@concord/testkit';
import { expect } from 'vitest';
import { makeActors, type Spec } from './specs.js';

export interface Scenario<T extends Crdt> {
  /** The final state of each replica. */
  readonly states: T[];
  /** Every delta any replica produced, in production order. */
  readonly deltas: T[];
}

/**
 * Runs `steps` random steps over `n` replicas of one type: a step either mutates a replica or
 * joins one replica's state into another's, so the states share history the way real ones do.
 * Every mutation is checked on the spot: the old state joined with the delta must equal the
 * mutated state.
 */
export function runScenario<T extends Crdt>(spec: Spec<T>, rng: Rng, n: number, steps: number): Scenario<T> {
  const actors = makeActors(n, rng);
  const states = actors.map(() => spec.type.empty());
  const deltas: T[] = [];
  for (let s = 0; s < steps; s++) {
    const i = rng.int(n);
    if (rng.int(4) === 0) {
      states[i]!.join(states[rng.int(n)]!);
      continue;
    }
    const before = states[i]!.clone();
    const delta = spec.mutate(states[i]!, actors[i]!, rng, 0);
    expectEqual(before.join(delta), states[i]!);
    deltas.push(delta);
  }
  return { states, deltas };
}

/** Equal states and equal values: the metadata and what users see must both agree. */
export function expectEqual<T extends Crdt>(a: T, b: T): void {
  expect(a.value()).toEqual(b.value());
  expect(a.equals(b), 'states differ in metadata').toBe(true);
}

export function roundTrip<T extends Crdt>(x: T): T {
  return decodeCrdt(encodeCrdt(x), x.constructor as never) as T;
}
