import { DecodeError, decodeCrdt, encodeCrdt } from '@concord/crdt';
import { mutate, SeededRng } from '@concord/testkit';
import { describe, expect, it } from 'vitest';
import { runScenario } from './support/scenario.js';
import { SPECS } from './support/specs.js';

const INPUTS = 100_000;

/**
 * Decoder fuzzing: random bytes, truncations, byte flips, insertions, deletions and splices
 * of valid messages of every type. The only exception allowed out of the decoder is
 * `DecodeError`; whatever decodes must read, re-encode and join without throwing.
 */
describe('decoder fuzzing', () => {
  it(`survives ${INPUTS.toLocaleString('en')} random, truncated and mutated inputs`, () => {
    const seed = Number(process.env.SEED ?? 20261121);
    const rng = new SeededRng(seed);
    const corpus: Uint8Array[] = [];
    for (const spec of SPECS) {
      for (let i = 0; i < 8; i++) {
        const { states, deltas } = runScenario(spec, rng, 3, 30);
        for (const x of [...states, ...deltas.slice(0, 3)]) corpus.push(encodeCrdt(x));
      }
    }

    const stats = { decoded: 0, rejected: 0 };
    const codes = new Set<string>();
    for (let n = 0; n < INPUTS; n++) {
      const input = mutate(rng, corpus);
      try {
        const x = decodeCrdt(input);
        x.value();
        encodeCrdt(x);
        x.join(x.clone());
        stats.decoded++;
      } catch (e) {
        if (!(e instanceof DecodeError)) {
          console.error(
            `fuzz: non-DecodeError for seed ${seed}, input ${n}: ${Buffer.from(input).toString('hex')}`,
          );
          throw e;
        }
        codes.add(e.code);
        stats.rejected++;
      }
    }
    expect(stats.rejected).toBeGreaterThan(INPUTS / 2);
    expect(stats.decoded).toBeGreaterThan(0);
    expect([...codes].sort()).toEqual(
      expect.arrayContaining(['BAD_LENGTH', 'BAD_TAG', 'BAD_VALUE', 'TRAILING_BYTES', 'TRUNCATED']),
    );
  });
});
