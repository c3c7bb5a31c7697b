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
  // Most vectors name one replica (a document written by one device; a catalogue holds one per
  // document), so the first entry lives in these two fields and a Map exists only from the second.
  private one: ReplicaId | undefined = undefined;
  private oneSeq = 0;
  private many: Map<ReplicaId, number> | undefined = undefined;

  constructor(entries?: Iterable<readonly [ReplicaId, number]>) {
    if (entries) for (const [r, s] of entries) this.advance(r, s);
  }

  get(replica: ReplicaId): number {
    if (this.many) return this.many.get(replica) ?? 0;
    return replica === this.one ? this.oneSeq : 0;
  }

  /** Raises the entry of `replica` to at least `seq`. */
  advance(replica: ReplicaId, seq: number): void {
    if (seq <= this.get(replica)) return;
    if (this.many) this.many.set(replica, seq);
    else if (this.one === undefined || this.one === replica) {
      this.one = replica;
      this.oneSeq = seq;
    } else {
      this.many = new Map([
        [this.one, this.oneSeq],
        [replica, seq],
      ]);
      this.one = undefined;
    }
  }

  includes(dot: Dot): boolean {
    return dot.seq <= this.get(dot.replica);
  }

  get size(): number {
    return this.many ? this.many.size : this.one === undefined ? 0 : 1;
  }

  entries(): IterableIterator<[ReplicaId, number]> {
    if (this.many) return this.many.entries();
    return (this.one === undefined ? [] : [[this.one, this.oneSeq] as [ReplicaId, number]]).values();
  }

  /** Calls `fn` for every entry, without building entry pairs. */
  private each(fn: (seq: number, replica: ReplicaId) => void): void {
    if (this.many) this.many.forEach(fn);
    else if (this.one !== undefined) fn(this.oneSeq, this.one);
  }

  /** Pointwise maximum, in place. */
  merge(other: VersionVector): this {
    other.each((s, r) => {
      this.advance(r, s);
    });
    return this;
  }

  /** `before`: every event of this is in other, and other has more. */
  compare(other: VersionVector): Causality {
    let less = false;
    let greater = false;
    this.each((s, r) => {
      const o = other.get(r);
      if (s < o) less = true;
      else if (s > o) greater = true;
    });
    other.each((o, r) => {
      if (this.get(r) === 0 && o > 0) less = true;
    });
    if (less && greater) return 'concurrent';
    if (less) return 'before';
    if (greater) return 'after';
    return 'equal';
  }

  equals(other: VersionVector): boolean {
    return this.compare(other) === 'equal';
  }

  clone(): VersionVector {
    const copy = new VersionVector();
    copy.one = this.one;
    copy.oneSeq = this.oneSeq;
    if (this.many) copy.many = new Map(this.many);
    return copy;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.entries());
  }

  encodeTo(enc: Encoder): void {
    enc.uint(this.size);
    this.each((s, r) => {
      enc.replica(r);
      enc.uint(s);
    });
  }

  static decodeFrom(dec: Decoder): VersionVector {
    const n = dec.count(2);
    const vv = new VersionVector();
    for (let i = 0; i < n; i++) {
      const r = dec.replica();
      const s = dec.uint();
      if (s === 0 || vv.get(r) !== 0) dec.fail('BAD_VALUE', 'zero or duplicate version vector entry');
      vv.advance(r, s);
    }
    return vv;
  }
}
