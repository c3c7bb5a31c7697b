import type { CausalContext } from './CausalContext.js';
import type { Crdt, CrdtType } from './Crdt.js';
import type { Decoder } from './codec/Decoder.js';
import type { Encoder } from './codec/Encoder.js';
import { DotFun } from './DotFun.js';
import type { ReplicaId } from './ReplicaId.js';

/**
 * A plain (non-causal) CRDT — a counter, a grow-only set, an LWW map — made removable inside an
 * ORMap. It is a DotFun whose values are whole states of the inner type: an update joins the
 * live states, applies the mutation, and stores the result under one fresh dot that replaces
 * the dots it saw. The value is the join of the live states.
 *
 * Why not keep the inner state directly: a plain CRDT cannot forget, so a key removed on one
 * replica would come back with its old contents the next time a stale replica merged (the
 * resurrection anomaly of Akka's ORMap). Here a remove drops the dots it saw, and a stale
 * state's dots are in the remover's context, so it stays removed; an update concurrent with the
 * remove keeps its own dot and survives — the same update-wins rule as Riak DT's embedded
 * counter (riak_dt_emcntr). The price: an update's delta carries the inner state, not the
 * inner delta, which is fine for the small values that live in documents.
 */
export class Embedded<T extends Crdt> extends DotFun<T, unknown> {
  constructor(
    ctx: CausalContext,
    readonly type: CrdtType<T>,
  ) {
    super(ctx);
  }

  /** The joined inner state. Read-only: it may be the stored state itself. */
  view(): T {
    const [first, ...rest] = this.entries;
    if (!first) return this.type.empty();
    if (rest.length === 0) return first.value;
    const joined = first.value.clone();
    for (const e of rest) joined.join(e.value);
    return joined;
  }

  /** Applies `fn` to a copy of the joined state and stores the result under a fresh dot of `replica`; returns the delta. */
  update(replica: ReplicaId, fn: (value: T) => unknown): this {
    const next = this.view().clone();
    fn(next);
    return this.write(replica, next);
  }

  value(): unknown {
    return this.view().value();
  }

  fresh(ctx: CausalContext): this {
    return new Embedded(ctx, this.type) as this;
  }

  protected cloneValue(value: T): T {
    return value.clone();
  }

  protected encodeValue(enc: Encoder, value: T): void {
    value.encodeTo(enc);
  }

  protected decodeValue(dec: Decoder): T {
    return this.type.decodeFrom(dec);
  }

  static decodeStore<T extends Crdt>(dec: Decoder, ctx: CausalContext, type: CrdtType<T>): Embedded<T> {
    return new Embedded(ctx, type).readEntries(dec);
  }
}
