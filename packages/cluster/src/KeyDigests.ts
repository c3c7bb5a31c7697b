/** Buckets the key space is cut into for anti-entropy. */
export const BUCKETS = 256;

/**
 * The digests anti-entropy compares, kept up to date as entries change: a digest per key and,
 * per bucket of keys, an order-independent sum of their hashes. Two nodes first compare the
 * 256 bucket sums, then the key digests of the buckets that differ, then send whole entries
 * only for the keys that differ — one changed key costs the sums, the digests of about
 * 1/256 of the keys and one entry, where Akka's gossip sends digests of every key
 * (akka#19131's complaint is the same with whole 100k-entry maps).
 */
export class KeyDigests {
  private readonly digests = new Map<string, string>();
  /** Two independent 32-bit sums per bucket: a false "equal" needs both to collide. */
  private readonly sums = new Uint32Array(BUCKETS * 2);

  set(key: string, digest: string): boolean {
    const old = this.digests.get(key);
    if (old === digest) return false;
    const b = bucketOf(key);
    if (old !== undefined) this.add(b, key, old, -1);
    this.digests.set(key, digest);
    this.add(b, key, digest, 1);
    return true;
  }

  get(key: string): string | undefined {
    return this.digests.get(key);
  }

  /** The bucket sums, as numbers (two per bucket). */
  buckets(): number[] {
    return [...this.sums];
  }

  /** Buckets whose sums differ from `theirs` (malformed input: every bucket). */
  differing(theirs: unknown): number[] {
    const valid = Array.isArray(theirs) && theirs.length === BUCKETS * 2;
    const out: number[] = [];
    for (let b = 0; b < BUCKETS; b++) {
      if (!valid || theirs[2 * b] !== this.sums[2 * b] || theirs[2 * b + 1] !== this.sums[2 * b + 1])
        out.push(b);
    }
    return out;
  }

  /** The keys of these buckets with their digests. */
  keysIn(buckets: readonly number[]): [string, string][] {
    const wanted = new Set(buckets);
    const out: [string, string][] = [];
    for (const [k, d] of this.digests) if (wanted.has(bucketOf(k))) out.push([k, d]);
    return out;
  }

  private add(b: number, key: string, digest: string, sign: 1 | -1): void {
    const text = `${key}\u0000${digest}`;
    this.sums[2 * b] = (this.sums[2 * b]! + sign * fnv1a(text, 0x811c9dc5)) >>> 0;
    this.sums[2 * b + 1] = (this.sums[2 * b + 1]! + sign * fnv1a(text, 0x01000193)) >>> 0;
  }
}

export function bucketOf(key: string): number {
  return fnv1a(key, 0x811c9dc5) % BUCKETS;
}

/** FNV-1a, 32 bits, over UTF-16 code units (Fowler, Noll, Vo). Fast and well spread; not cryptographic. */
function fnv1a(s: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
