import { Causal, checkDot, joinDotEntries } from './Causal.js';
import type { CausalContext } from './CausalContext.js';
import type { Decoder } from './codec/Decoder.js';
import type { Encoder } from './codec/Encoder.js';
import { compareDots, type Dot, readDot, writeDot } from './Dot.js';
import type { ReplicaId } from './ReplicaId.js';

export interface DotEntry<E> {
  readonly dot: Dot;
  readonly value: E;
}

const dotOf = (e: DotEntry<unknown>): Dot => e.dot;

/**
 * A dot store mapping each live write's dot to the value it wrote (Almeida et al. 2018,
 * "DotFun"). A write replaces every value it has seen with one new dot; writes it has not
 * seen stay beside it. The registers (MVRegister, CausalRegister) and the embedding of plain
 * CRDTs in an ORMap (Embedded) are this store with different readings of the values.
 */
export abstract class DotFun<E, V> extends Causal<V> {
  /** Sorted by dot; more than one entry only while writes are concurrent. */
  protected entries: DotEntry<E>[] = [];

  protected abstract cloneValue(value: E): E;
  protected abstract encodeValue(enc: Encoder, value: E): void;
  protected abstract decodeValue(dec: Decoder): E;

  /** Replaces every value seen so far with `value` under a fresh dot of `replica`; returns the delta. */
  protected write(replica: ReplicaId, value: E): this {
    const dot = this.ctx.next(replica);
    const delta = this.fresh(this.overwriteContext(dot));
    delta.entries = [{ dot, value }];
    this.entries = [{ dot, value: this.cloneValue(value) }];
    return delta;
  }

  /** Removes every value seen so far; returns the delta. */
  clear(): this {
    const delta = this.fresh(this.overwriteContext());
    this.entries = [];
    return delta;
  }

  joinStore(other: this, mine: CausalContext, theirs: CausalContext): void {
    this.entries = joinDotEntries(this.entries, mine, other.entries, theirs, dotOf, (e) => ({
      dot: e.dot,
      value: this.cloneValue(e.value),
    }));
  }

  isBottom(): boolean {
    return this.entries.length === 0;
  }

  collectDots(out: Dot[]): void {
    for (const e of this.entries) out.push(e.dot);
  }

  cloneIn(ctx: CausalContext): this {
    const copy = this.fresh(ctx);
    copy.entries = this.entries.map((e) => ({ dot: e.dot, value: this.cloneValue(e.value) }));
    return copy;
  }

  /** A dot names one write, so equal dots mean equal values. */
  storeEquals(other: this): boolean {
    if (this.entries.length !== other.entries.length) return false;
    for (let i = 0; i < this.entries.length; i++) {
      if (compareDots(this.entries[i]!.dot, other.entries[i]!.dot) !== 0) return false;
    }
    return true;
  }

  encodeStore(enc: Encoder): void {
    enc.uint(this.entries.length);
    for (const e of this.entries) {
      writeDot(enc, e.dot);
      this.encodeValue(enc, e.value);
    }
  }

  /** Fills this (empty) store from the wire, checking dots are ascending and covered by the context. */
  protected readEntries(dec: Decoder): this {
    const n = dec.count(3);
    for (let i = 0; i < n; i++) {
      const dot = readDot(dec);
      checkDot(dec, this.ctx, this.entries[this.entries.length - 1]?.dot, dot);
      this.entries.push({ dot, value: this.decodeValue(dec) });
    }
    return this;
  }
}
