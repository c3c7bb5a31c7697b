import { merge } from '@concord/crdt';
import { StreamRng } from '@concord/testkit';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { expectEqual, roundTrip, runScenario } from './support/scenario.js';
import { SPECS } from './support/specs.js';

// The algebra every type in the catalogue must satisfy, checked on states reached by random
// histories of three replicas (fast-check shrinks a failure to its fewest choices).
const history = fc.array(fc.nat(1000), { minLength: 1, maxLength: 300 });
const runs = { numRuns: 150 };

describe.each(SPECS.map((s) => [s.type.typeName, s] as const))('%s', (_name, spec) => {
  it('join is idempotent, commutative and associative', () => {
    fc.assert(
      fc.property(history, (choices) => {
        const [a, b, c] = runScenario(spec, new StreamRng(choices), 3, 40).states as [never, never, never];
        expectEqual(merge(a, a), a);
        expectEqual(merge(a, b), merge(b, a));
        expectEqual(merge(merge(a, b), c), merge(a, merge(b, c)));
      }),
      runs,
    );
  });

  it('every delta joined into the old state gives the mutated state', () => {
    // runScenario checks this at every mutation.
    fc.assert(
      fc.property(history, (choices) => void runScenario(spec, new StreamRng(choices), 3, 40)),
      runs,
    );
  });

  it('deltas joined in any order, with duplicates, give the join of all states', () => {
    fc.assert(
      fc.property(history, fc.array(fc.nat(), { maxLength: 100 }), (choices, order) => {
        const { states, deltas } = runScenario(spec, new StreamRng(choices), 3, 40);
        const all = states.reduce((acc, s) => acc.join(s), spec.type.empty());
        const shuffled = [...deltas, ...order.slice(0, deltas.length).map((k) => deltas[k % deltas.length]!)];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = (order[i % Math.max(order.length, 1)] ?? i) % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        expectEqual(
          shuffled.reduce((acc, d) => acc.join(d), spec.type.empty()),
          all,
        );
      }),
      runs,
    );
  });

  it('decode(encode(x)) equals x for states and deltas', () => {
    fc.assert(
      fc.property(history, (choices) => {
        const { states, deltas } = runScenario(spec, new StreamRng(choices), 3, 40);
        for (const x of [...states, ...deltas]) expectEqual(roundTrip(x), x);
      }),
      runs,
    );
  });
});
