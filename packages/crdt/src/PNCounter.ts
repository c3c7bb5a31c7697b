import type { Crdt } from './Crdt.js';
import type { Decoder } from './codec/Decoder.js';
import type { Encoder } from './codec/Encoder.js';
import { InvalidArgumentError } from './errors.js';
import { GCounter } from './GCounter.js';
import type { ReplicaId } from './ReplicaId.js';

/**
 * Positive-negative counter (Shapiro et al. 2011, §3.1.2): a GCounter of increments and one
 * of decrements; the value is their difference.
 */
export class PNCounter implements Crdt<number> {
  static readonly tag = 2;
  static readonly typeName = 'PNCounter';
  static readonly causal = false;

  constructor(
    private readonly p = new GCounter(),
    private readonly n = new GCounter(),
  ) {}

  static empty(): PNCounter {
    return new PNCounter();
  }

  /** Adds `amount` (a safe integer of either sign); returns the delta. */
  increment(replica: ReplicaId, amount = 1): PNCounter {
    if (!Number.isSafeInteger(amount))
      throw new InvalidArgumentError('BAD_AMOUNT', `not a safe integer: ${amount}`);
    return amount >= 0
      ? new PNCounter(this.p.increment(replica, amount), new GCounter())
      : new PNCounter(new GCounter(), this.n.increment(replica, -amount));
  }

  decrement(replica: ReplicaId, amount = 1): PNCounter {
    return this.increment(replica, -amount);
  }

  value(): number {
    return this.p.value() - this.n.value();
  }

  join(other: PNCounter): this {
    this.p.join(other.p);
    this.n.join(other.n);
    return this;
  }

  clone(): this {
    return new PNCounter(this.p.clone(), this.n.clone()) as this;
  }

  equals(other: PNCounter): boolean {
    return this.p.equals(other.p) && this.n.equals(other.n);
  }

  encodeTo(enc: Encoder): void {
    this.p.encodeTo(enc);
    this.n.encodeTo(enc);
  }

  static decodeFrom(dec: Decoder): PNCounter {
    return new PNCounter(GCounter.decodeFrom(dec), GCounter.decodeFrom(dec));
  }
}
