import type { Decoder } from './codec/Decoder.js';
import type { Encoder } from './codec/Encoder.js';

/**
 * What every type in the catalogue is: a mutable state in a join-semilattice.
 *
 * - Mutators change the state in place and return a *delta*: a small state of the same type
 *   that, joined into any replica, has the same effect (Almeida et al., "Delta State
 *   Replicated Data Types", JPDC 2018). Ship deltas; ship whole states for anti-entropy.
 * - `join` is the least upper bound, computed in place: idempotent, commutative, associative.
 * - `merge(a, b)` is the pure form for when the inputs must stay untouched.
 *
 * Mutable-in-place was chosen over immutable values because the database keeps millions of
 * these: an update allocates only its delta, not a copy of the state.
 */
export interface Crdt<V = unknown> {
  /** The plain value users see. */
  value(): V;
  /** Joins `other` into this state, in place, and returns this. */
  join(other: this): this;
  clone(): this;
  /** Equal states, not just equal values (the metadata must agree too). */
  equals(other: this): boolean;
  /** Writes the state's body; `encodeCrdt` adds the header that makes it a message. */
  encodeTo(enc: Encoder): void;
}

/** The static side of a CRDT class: its wire tag, its bottom value and its reader. */
export interface CrdtType<T extends Crdt = Crdt> {
  /** Stable wire tag, 1..63; never reuse one. */
  readonly tag: number;
  readonly typeName: string;
  /** True for types built on a dot store, which share a causal context when nested in an ORMap. */
  readonly causal: boolean;
  /** The bottom element: the state of a replica that has seen nothing. */
  empty(): T;
  decodeFrom(dec: Decoder): T;
}

/** `merge(a, b) → c`: the join of two states, leaving both untouched. */
export function merge<T extends Crdt>(a: T, b: T): T {
  return a.clone().join(b);
}

/** The type (class) of a state. */
export function typeOf<T extends Crdt>(state: T): CrdtType<T> {
  return state.constructor as unknown as CrdtType<T>;
}
