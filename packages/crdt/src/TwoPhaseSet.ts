import type { Crdt } from './Crdt.js';
import type { Decoder } from './codec/Decoder.js';
import type { Encoder } from './codec/Encoder.js';
import { GSet } from './GSet.js';
import type { Json } from './Json.js';

/**
 * Two-phase set (Shapiro et al. 2011, §3.3.2): a GSet of additions and a GSet of removals
 * (tombstones). An element is present if added and never removed; once removed it can never
 * come back, so removal wins over every concurrent or later add.
 */
export class TwoPhaseSet implements Crdt<Json[]> {
  static readonly tag = 4;
  static readonly typeName = 'TwoPhaseSet';
  static readonly causal = false;

  constructor(
    private readonly added = new GSet(),
    private readonly removed = new GSet(),
  ) {}

  static empty(): TwoPhaseSet {
    return new TwoPhaseSet();
  }

  /** Adds `element` (no visible effect if it was ever removed); returns the delta. */
  add(element: Json): TwoPhaseSet {
    return new TwoPhaseSet(this.added.add(element), new GSet());
  }

  /** Removes `element` for good. Only a present element can be removed (the precondition of §3.3.2); otherwise the delta is empty. */
  remove(element: Json): TwoPhaseSet {
    if (!this.has(element)) return new TwoPhaseSet();
    return new TwoPhaseSet(new GSet(), this.removed.add(element));
  }

  has(element: Json): boolean {
    return this.added.has(element) && !this.removed.has(element);
  }

  value(): Json[] {
    return this.added.value().filter((e) => !this.removed.has(e));
  }

  join(other: TwoPhaseSet): this {
    this.added.join(other.added);
    this.removed.join(other.removed);
    return this;
  }

  clone(): this {
    return new TwoPhaseSet(this.added.clone(), this.removed.clone()) as this;
  }

  equals(other: TwoPhaseSet): boolean {
    return this.added.equals(other.added) && this.removed.equals(other.removed);
  }

  encodeTo(enc: Encoder): void {
    this.added.encodeTo(enc);
    this.removed.encodeTo(enc);
  }

  static decodeFrom(dec: Decoder): TwoPhaseSet {
    return new TwoPhaseSet(GSet.decodeFrom(dec), GSet.decodeFrom(dec));
  }
}
