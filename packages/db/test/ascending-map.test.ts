import { SeededRng, seeds } from '@concord/testkit';
import { describe, expect, it } from 'vitest';
import { AscendingMap } from '../src/AscendingMap.js';

const key = (i: number) => `k${String(i).padStart(4, '0')}`;

describe('AscendingMap', () => {
  it.each(seeds(50))('seed %i: answers as a Map does, under keys mostly ascending', (seed) => {
    const rng = new SeededRng(seed);
    const m = new AscendingMap<number>();
    const ref = new Map<string, number>();
    let next = 0;
    for (let step = 0; step < 400; step++) {
      const c = rng.int(10);
      // Mostly the next key up (as a snapshot brings them), else any key, new or known.
      if (c < 5) next += 1 + rng.int(3);
      const k = key(c < 5 ? next : rng.int(next + 20));
      if (c < 8) {
        m.set(k, step);
        ref.set(k, step);
      } else expect(m.delete(k)).toBe(ref.delete(k));
      const probe = key(rng.int(next + 20));
      expect(m.get(probe)).toBe(ref.get(probe));
      expect(m.has(probe)).toBe(ref.has(probe));
      expect(m.size).toBe(ref.size);
    }
    expect([...m].sort(([a], [b]) => (a < b ? -1 : 1))).toEqual(
      [...ref].sort(([a], [b]) => (a < b ? -1 : 1)),
    );
  });

  it('iterates the keys that came in ascending order first, in order, then the others as they came', () => {
    const m = new AscendingMap<string>();
    for (const k of ['b', 'd', 'f', 'a', 'e', 'c']) m.set(k, k.toUpperCase());
    m.delete('d');
    m.set('d', 'D2');
    expect([...m].map(([k]) => k)).toEqual(['b', 'd', 'f', 'a', 'e', 'c']);
    expect(m.get('d')).toBe('D2');
  });
});
