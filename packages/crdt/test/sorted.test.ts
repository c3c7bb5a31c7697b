import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byCodeUnits, byNumber, sorted } from '../src/sorted.js';

describe('sorted', () => {
  it('orders as Array.prototype.sort does, stably, short arrays and long', () => {
    // Pairs compared by their key alone: equal keys keep their order (`sort` is stable).
    const pairs = fc.array(fc.tuple(fc.integer({ min: -5, max: 5 }), fc.nat()), { maxLength: 40 });
    fc.assert(
      fc.property(pairs, (xs) => {
        const compare = (a: [number, number], b: [number, number]) => a[0] - b[0];
        const expected = [...xs].sort(compare);
        const input = [...xs];
        expect(sorted(input, compare)).toBe(input);
        expect(input).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('orders numbers ascending and strings by code units, as sort without a comparator', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary' }), { maxLength: 20 }),
        fc.array(fc.integer()),
        (s, n) => {
          expect(sorted([...s], byCodeUnits)).toEqual([...s].sort());
          expect(sorted([...n], byNumber)).toEqual([...n].sort((a, b) => a - b));
        },
      ),
      { numRuns: 300 },
    );
  });
});
