/**
 * A seeded source of choices. `SeededRng` is sfc32 (Doty-Humphrey's small fast counter), so a
 * seed replays exactly; `StreamRng` reads choices from a fast-check-generated array, so
 * fast-check can shrink a failing case to its fewest choices.
 */
export interface Rng {
  /** An integer in [0, n). */
  int(n: number): number;
}

export class SeededRng implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;

  constructor(readonly seed: number) {
    this.a = seed >>> 0;
    this.b = (seed / 0x100000000) >>> 0;
    this.c = 0x9e3779b9;
    for (let i = 0; i < 12; i++) this.next();
  }

  private next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 0x100000000;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

export class StreamRng implements Rng {
  private i = 0;
  constructor(private readonly choices: readonly number[]) {}

  int(n: number): number {
    const c = this.choices.length === 0 ? 0 : this.choices[this.i++ % this.choices.length]!;
    return c % n;
  }
}

/** The seeds a randomised test runs: `SEED=<n>` replays one, otherwise `count` from `base`. */
export function seeds(count: number, base = 1): number[] {
  const env = process.env.SEED;
  if (env !== undefined && env !== '') return [Number(env)];
  return Array.from({ length: count }, (_, i) => base + i);
}
