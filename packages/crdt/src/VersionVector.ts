import type { Decoder } from './codec/Decoder.js';
import type { Encoder } from './codec/Encoder.js';
import type { Dot } from './Dot.js';
import type { ReplicaId } from './ReplicaId.js';

/** How two version vectors (two histories) relate. */
export type Causality = 'before' | 'after' | 'equal' | 'concurrent';

/**
 * A version vector: for each replica, the highest sequence number such that every event of
 * that replica up to it has been seen. It summarises a causally closed set of dots
 * (Parker et al. 1983; Charron-Bost 1991). Replicas not present count as 0.
 */
export class VersionVector {
  private readonly seqs: Map<ReplicaId, number>;

  constructor(entries?: Iterable<readonly [ReplicaId, number]>) {
    this.seqs = new Map();
    if (entries) for (const [r, s] of entries) if (s > 0) this.seqs.set(r, s);
  }

  get(replica: ReplicaId): number {
    return this.seqs.get(replica) ?? 0;
  }

  /** Raises the entry of `replica` to at least `seq`. */
  advance(replica: ReplicaId, seq: number): void {
    if (seq > (this.seqs.get(replica) ?? 0)) this.seqs.set(replica, seq);
  }

  includes(dot: Dot): boolean {
    return dot.seq <= (this.seqs.get(dot.replica) ?? 0);
  }

  get size(): number {
    return this.seqs.size;
  }

  entries(): IterableIterator<[ReplicaId, number]> {
    return this.seqs.entries();
  }

  /** Pointwise maximum, in place. */
  merge(other: VersionVector): this {
    other.seqs.forEach((s, r) => {
      this.advance(r, s);
    });
    return this;
  }

  /** `before`: every event of this is in other, and other has more. */
  compare(other: VersionVector): Causality {
    let less = false;
    let greater = false;
    for (const [r, s] of this.seqs) {
      const o = other.get(r);
      if (s < o) less = true;
      else if (s > o) greater = true;
    }
    for (const [r, o] of other.seqs) if (!this.seqs.has(r) && o > 0) less = true;
    if (less && greater) return 'concurrent';
    if (less) return 'before';
    if (greater) return 'after';
    return 'equal';
  }

  equals(other: VersionVector): boolean {
    return this.compare(other) === 'equal';
  }

  clone(): VersionVector {
    return new VersionVector(this.seqs);
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.seqs);
  }

  encodeTo(enc: Encoder): void {
    enc.uint(this.seqs.size);
    for (const [r, s] of this.seqs) {
      enc.replica(r);
      enc.uint(s);
    }
  }

  static decodeFrom(dec: Decoder): VersionVector {
    const n = dec.count(2);
    const vv = new VersionVector();
    for (let i = 0; i < n; i++) {
      const r = dec.replica();
      const s = dec.uint();
      if (s === 0 || vv.seqs.has(r)) dec.fail('BAD_VALUE', 'zero or duplicate version vector entry');
      vv.seqs.set(r, s);
    }
    return vv;
  }
}
