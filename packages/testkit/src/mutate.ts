import type { SeededRng } from './Rng.js';

/**
 * A hostile input made from valid ones: random bytes, a truncation, byte flips, an insertion, a
 * deletion, or a splice of two inputs — what every decoder and protocol fuzz test feeds in.
 */
export function mutate(rng: SeededRng, corpus: readonly Uint8Array[]): Uint8Array {
  const base = rng.pick(corpus);
  switch (rng.int(6)) {
    case 0:
      return rng.bytes(rng.int(48));
    case 1:
      return base.subarray(0, rng.int(base.length + 1));
    case 2: {
      const out = base.slice();
      for (let k = 1 + rng.int(4); k > 0 && out.length > 0; k--) out[rng.int(out.length)] = rng.int(256);
      return out;
    }
    case 3: {
      const at = rng.int(base.length + 1);
      return Uint8Array.of(...base.subarray(0, at), ...rng.bytes(1 + rng.int(8)), ...base.subarray(at));
    }
    case 4: {
      const at = rng.int(base.length + 1);
      return Uint8Array.of(...base.subarray(0, at), ...base.subarray(at + 1 + rng.int(8)));
    }
    default: {
      const other = rng.pick(corpus);
      return Uint8Array.of(
        ...base.subarray(0, rng.int(base.length + 1)),
        ...other.subarray(rng.int(other.length + 1)),
      );
    }
  }
}
