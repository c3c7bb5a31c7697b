import type { Crdt } from './Crdt.js';
import type { Decoder } from './codec/Decoder.js';
import type { Encoder } from './codec/Encoder.js';
import { InvalidArgumentError } from './errors.js';
import type { ReplicaId } from './ReplicaId.js';

/**
 * Grow-only counter (Shapiro et al., "A comprehensive study of CRDTs", 2011, §3.1.1): one
 * monotonic count per replica; the value is their sum, the join their pointwise maximum.
 */
export class GCounter implements Crdt<number> {
  static readonly tag = 1;
  static readonly typeName = 'GCounter';
  static readonly causal = false;

  private readonly counts = new Map<ReplicaId, number>();

  static empty(): GCounter {
    return new GCounter();
  }

  /** Adds `amount` (a non-negative safe integer) to `replica`'s count; returns the delta. */
  increment(replica: ReplicaId, amount = 1): GCounter {
    if (!Number.isSafeInteger(amount) || amount < 0) {
      throw new InvalidArgumentError(
        'BAD_AMOUNT',
        `a GCounter grows by a non-negative integer, not ${amount}`,
      );
    }
    const next = (this.counts.get(replica) ?? 0) + amount;
    if (!Number.isSafeInteger(next)) throw new InvalidArgumentError('BAD_AMOUNT', 'count would exceed 2^53');
    const delta = new GCounter();
    // A zero count is the same as no entry; storing none keeps equal states equal.
    if (next > 0) {
      this.counts.set(replica, next);
      delta.counts.set(replica, next);
    }
    return delta;
  }

  /** The count contributed by one replica. */
  get(replica: ReplicaId): number {
    return this.counts.get(replica) ?? 0;
  }

  value(): number {
    let sum = 0;
    for (const c of this.counts.values()) sum += c;
    return sum;
  }

  join(other: GCounter): this {
    for (const [r, c] of other.counts) if (c > (this.counts.get(r) ?? 0)) this.counts.set(r, c);
    return this;
  }

  clone(): this {
    const copy = new GCounter();
    for (const [r, c] of this.counts) copy.counts.set(r, c);
    return copy as this;
  }

  equals(other: GCounter): boolean {
    if (this.counts.size !== other.counts.size) return false;
    for (const [r, c] of this.counts) if (other.counts.get(r) !== c) return false;
    return true;
  }

  encodeTo(enc: Encoder): void {
    enc.uint(this.counts.size);
    for (const [r, c] of this.counts) {
      enc.replica(r);
      enc.uint(c);
    }
  }

  static decodeFrom(dec: Decoder): GCounter {
    const g = new GCounter();
    const n = dec.count(2);
    for (let i = 0; i < n; i++) {
      const r = dec.replica();
      const c = dec.uint();
      if (g.counts.has(r)) dec.fail('BAD_VALUE', 'duplicate replica in counter');
      if (c > 0) g.counts.set(r, c);
    }
    return g;
  }
}
