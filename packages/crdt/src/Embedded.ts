import type { CausalContext } from './CausalContext.js';
import type { Crdt, CrdtType } from './Crdt.js';
import type { Decoder } from './codec/Decoder.js';
import type { Encoder } from './codec/Encoder.js';
import { DotFun } from './DotFun.js';
import { type ReplicaId, runReplicaId } from './ReplicaId.js';

/** One live write of an embedded CRDT: the state it wrote, and the run of writes it belongs to. */
export interface Incarnation<T> {
  readonly state: T;
  /**
   * The counter of the dot that began its writer's run: the writer's writes inside `state`
   * are made as `runReplicaId(writer, run)` (see `Embedded.update`).
   */
  readonly run: number;
}

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
 *
 * Forgetting has a second cost, which the runs pay: an inner CRDT numbers a replica's
 * operations by what it has seen of that replica (a counter's count, a sequence's element
 * ids). Once a replica's states are dropped, its next write would start from a state that has
 * not seen them and number its operations again from the start, while a concurrent update
 * elsewhere still holds the old ones: two different elements with one id (a sequence cannot
 * join them), or a count that the old one's maximum hides. So a replica writes under an id of
 * its own run: a run lasts while its last write is live here, and a write with none live
 * starts a new run, named after that write's dot — which no replica ever reuses, so every run
 * id is new, and a run's writes each hold all of its operations before them.
 */
export class Embedded<T extends Crdt> extends DotFun<Incarnation<T>, unknown> {
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
    if (rest.length === 0) return first.value.state;
    const joined = first.value.state.clone();
    for (const e of rest) joined.join(e.value.state);
    return joined;
  }

  /**
   * Applies `fn` to a copy of the joined state and stores the result under a fresh dot of
   * `replica`; returns the delta. `fn` makes its operations as the id it is given (the
   * replica's run, above), never as `replica` itself.
   */
  update(replica: ReplicaId, fn: (value: T, as: ReplicaId) => unknown): this {
    const next = this.view().clone();
    // At most one live write is this replica's own: each replaces the one before it.
    const own = this.entries.find((e) => e.dot.replica === replica);
    // A new run is named after the dot this write takes (once `fn` has not thrown).
    const run = own ? own.value.run : this.ctx.nextSeq(replica);
    fn(next, runReplicaId(replica, run));
    return this.write(replica, { state: next, run });
  }

  value(): unknown {
    return this.view().value();
  }

  fresh(ctx: CausalContext): this {
    return new Embedded(ctx, this.type) as this;
  }

  protected cloneValue(value: Incarnation<T>): Incarnation<T> {
    return { state: value.state.clone(), run: value.run };
  }

  protected encodeValue(enc: Encoder, value: Incarnation<T>): void {
    enc.uint(value.run);
    value.state.encodeTo(enc);
  }

  protected decodeValue(dec: Decoder): Incarnation<T> {
    const run = dec.uint();
    if (run < 1) dec.fail('BAD_VALUE', 'run 0');
    return { run, state: this.type.decodeFrom(dec) };
  }

  static decodeStore<T extends Crdt>(dec: Decoder, ctx: CausalContext, type: CrdtType<T>): Embedded<T> {
    return new Embedded(ctx, type).readEntries(dec);
  }
}
