import type { Decoder } from './codec/Decoder.js';
import type { Encoder } from './codec/Encoder.js';
import type { Dot } from './Dot.js';
import type { ReplicaId } from './ReplicaId.js';
import { byNumber, sorted } from './sorted.js';
import { VersionVector } from './VersionVector.js';

const NO_CLOUD: ReadonlyMap<ReplicaId, Set<number>> = new Map();

/**
 * The set of dots a state has seen, possibly with gaps: a version vector for the contiguous
 * prefix of each replica plus a "dot cloud" of the dots beyond it. A delta carries just the
 * dots it touches, so joining deltas out of order leaves gaps; when the missing dots arrive,
 * `compact` folds the cloud back into the vector (Almeida, Shoker, Baquero, "Delta State
 * Replicated Data Types", JPDC 2018, §5.2).
 */
export class CausalContext {
  readonly vv: VersionVector;
  /** Created on the first gap: most contexts never have one, and a catalogue holds one per document. */
  private cloudMap: Map<ReplicaId, Set<number>> | undefined;

  constructor(vv: VersionVector = new VersionVector()) {
    this.vv = vv;
  }

  /** The dot cloud to read; empty when there is none. */
  private get cloud(): ReadonlyMap<ReplicaId, Set<number>> {
    return this.cloudMap ?? NO_CLOUD;
  }

  /** The dot cloud to write to, created on first use. */
  private writableCloud(): Map<ReplicaId, Set<number>> {
    this.cloudMap ??= new Map();
    return this.cloudMap;
  }

  static of(dots: Iterable<Dot>): CausalContext {
    const ctx = new CausalContext();
    for (const d of dots) ctx.add(d);
    return ctx;
  }

  /** Whether this context has seen no dot at all. */
  isEmpty(): boolean {
    return this.vv.size === 0 && (this.cloudMap?.size ?? 0) === 0;
  }

  /** The last of the dots this context has seen when they are one replica's from 1 on, and no other. */
  onlyUpTo(): Dot | undefined {
    if (this.vv.size !== 1 || (this.cloudMap?.size ?? 0) > 0) return undefined;
    const [replica, seq] = this.vv.entries().next().value!;
    return { replica, seq };
  }

  contains(dot: Dot): boolean {
    return this.vv.includes(dot) || (this.cloudMap?.get(dot.replica)?.has(dot.seq) ?? false);
  }

  add(dot: Dot): void {
    if (this.vv.includes(dot)) return;
    if (dot.seq === this.vv.get(dot.replica) + 1) {
      this.vv.advance(dot.replica, dot.seq);
      this.compact(dot.replica);
      return;
    }
    let seqs = this.cloud.get(dot.replica);
    if (!seqs) {
      seqs = new Set();
      this.writableCloud().set(dot.replica, seqs);
    }
    seqs.add(dot.seq);
  }

  /** The next dot of `replica`, recorded as seen. */
  next(replica: ReplicaId): Dot {
    const dot = { replica, seq: this.nextSeq(replica) };
    this.add(dot);
    return dot;
  }

  /** The counter `next(replica)` would take, without taking it. */
  nextSeq(replica: ReplicaId): number {
    let max = this.vv.get(replica);
    const seqs = this.cloudMap?.get(replica);
    if (seqs) for (const s of seqs) if (s > max) max = s;
    return max + 1;
  }

  merge(other: CausalContext): this {
    this.vv.merge(other.vv);
    // The merged vector may now cover some of this side's cloud.
    if (this.cloudMap) for (const r of [...this.cloudMap.keys()]) this.compact(r);
    // Their cloud dot by dot, ascending: a dot right after the vector extends it, with no set made
    // (a delta of one write has its dot in the cloud, and joining deltas in order is common).
    other.cloud.forEach((seqs, replica) => {
      for (const seq of sorted([...seqs], byNumber)) this.add({ replica, seq });
    });
    return this;
  }

  private compact(replica: ReplicaId): void {
    const seqs = this.cloudMap?.get(replica);
    if (!seqs) return;
    let top = this.vv.get(replica);
    while (seqs.has(top + 1)) top++;
    this.vv.advance(replica, top);
    for (const s of seqs) if (s <= top) seqs.delete(s);
    if (seqs.size === 0) this.cloudMap!.delete(replica);
  }

  /** The dots beyond the version vector, sorted per replica. */
  cloudDots(): Dot[] {
    const out: Dot[] = [];
    for (const [replica, seqs] of this.cloud)
      for (const seq of sorted([...seqs], byNumber)) out.push({ replica, seq });
    return out;
  }

  equals(other: CausalContext): boolean {
    if (!this.vv.equals(other.vv) || this.cloud.size !== other.cloud.size) return false;
    for (const [r, seqs] of this.cloud) {
      const theirs = other.cloud.get(r);
      if (!theirs || theirs.size !== seqs.size) return false;
      for (const s of seqs) if (!theirs.has(s)) return false;
    }
    return true;
  }

  clone(): CausalContext {
    const ctx = new CausalContext(this.vv.clone());
    for (const [r, seqs] of this.cloud) ctx.writableCloud().set(r, new Set(seqs));
    return ctx;
  }

  encodeTo(enc: Encoder): void {
    this.vv.encodeTo(enc);
    enc.uint(this.cloud.size);
    for (const [r, seqs] of this.cloud) {
      enc.replica(r);
      enc.uint(seqs.size);
      // Ascending gaps keep the numbers small.
      let prev = this.vv.get(r);
      for (const s of sorted([...seqs], byNumber)) {
        enc.uint(s - prev);
        prev = s;
      }
    }
  }

  /** What `encodeTo` writes for the context of dots 1 to `seq` of one replica, without making it. */
  static encodeUpTo(enc: Encoder, replica: ReplicaId, seq: number): void {
    if (seq > 0) {
      enc.uint(1);
      enc.replica(replica);
      enc.uint(seq);
    } else enc.uint(0);
    enc.uint(0);
  }

  static decodeFrom(dec: Decoder): CausalContext {
    const ctx = new CausalContext(VersionVector.decodeFrom(dec));
    const n = dec.count(2);
    for (let i = 0; i < n; i++) {
      const r = dec.replica();
      if (ctx.cloud.has(r)) dec.fail('BAD_VALUE', 'duplicate replica in dot cloud');
      const m = dec.count();
      let seq = ctx.vv.get(r);
      for (let j = 0; j < m; j++) {
        const gap = dec.uint();
        if (gap === 0) dec.fail('BAD_VALUE', 'dot cloud not strictly ascending');
        seq += gap;
        if (seq > Number.MAX_SAFE_INTEGER) dec.fail('BAD_VALUE', 'dot beyond 2^53');
        ctx.add({ replica: r, seq });
      }
    }
    return ctx;
  }
}
