import { CausalContext } from './CausalContext.js';
import type { Crdt, CrdtType } from './Crdt.js';
import type { Decoder } from './codec/Decoder.js';
import type { Encoder } from './codec/Encoder.js';
import { compareDots, type Dot, readDot, writeDot } from './Dot.js';

/**
 * A causal CRDT: a dot store plus the causal context of everything it has seen (Almeida et
 * al. 2018, §6). A dot in the context but not in the store has been removed or overwritten,
 * which is what lets removals win over what they observed and lose to what they did not.
 *
 * Nested in an ORMap, a causal CRDT shares the map's context (the `ctx` field points to it), so
 * the store-level operations below take the contexts explicitly and never merge them: only
 * the outermost `join` merges contexts, once.
 */
export abstract class Causal<V = unknown> implements Crdt<V> {
  constructor(public ctx: CausalContext) {}

  abstract value(): V;
  /** Joins the other store into this one, given the contexts of both sides. Contexts untouched. */
  abstract joinStore(other: this, mine: CausalContext, theirs: CausalContext): void;
  /** True when the store holds no dot: the bottom element, which an ORMap drops. */
  abstract isBottom(): boolean;
  /** Appends every dot of the store. */
  abstract collectDots(out: Dot[]): void;
  /** An empty store of the same kind (and, for an embedding, the same inner type) bound to `ctx`. */
  abstract fresh(ctx: CausalContext): this;
  /** A deep copy of the store bound to `ctx`. */
  abstract cloneIn(ctx: CausalContext): this;
  abstract storeEquals(other: this): boolean;
  abstract encodeStore(enc: Encoder): void;

  /** Joins with the other side's bottom under context `theirs`: drops the dots it has seen. */
  dropSeen(theirs: CausalContext): void {
    this.joinStore(this.fresh(theirs), this.ctx, theirs);
  }

  join(other: this): this {
    this.joinStore(other, this.ctx, other.ctx);
    this.ctx.merge(other.ctx);
    return this;
  }

  clone(): this {
    return this.cloneIn(this.ctx.clone());
  }

  equals(other: this): boolean {
    return this.ctx.equals(other.ctx) && this.storeEquals(other);
  }

  encodeTo(enc: Encoder): void {
    this.ctx.encodeTo(enc);
    this.encodeStore(enc);
  }

  /** A context holding every dot of this store, plus `extra`: the context of a delta that overwrites it. */
  protected overwriteContext(extra?: Dot): CausalContext {
    const dots: Dot[] = [];
    this.collectDots(dots);
    if (extra) dots.push(extra);
    return CausalContext.of(dots);
  }
}

/** The static side of a causal CRDT class. */
export interface CausalType<T extends Causal = Causal> extends CrdtType<T> {
  readonly causal: true;
  emptyIn(ctx: CausalContext): T;
  decodeStore(dec: Decoder, ctx: CausalContext): T;
}

/** Results up to this length are copied to their exact size (see joinDotEntries). */
const SHORT = 8;

/**
 * The dot-store join shared by DotSet and DotFun (Almeida et al. 2018, §6.1): keep a dot that
 * both sides hold, or that one side holds and the other has never seen. A dot one side has
 * seen but no longer holds was removed there, and stays removed.
 * Both inputs are sorted by dot; so is the output. Values for a shared dot are equal by
 * construction (a dot names one write), so the left one is kept.
 */
export function joinDotEntries<E>(
  a: readonly E[],
  mine: CausalContext,
  b: readonly E[],
  theirs: CausalContext,
  dotOf: (e: E) => Dot,
  adopt: (e: E) => E,
): E[] {
  const out: E[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    const c = x === undefined ? 1 : y === undefined ? -1 : compareDots(dotOf(x), dotOf(y));
    if (c === 0) {
      out.push(x!);
      i++;
      j++;
    } else if (c < 0) {
      if (!theirs.contains(dotOf(x!))) out.push(x!);
      i++;
    } else {
      if (!mine.contains(dotOf(y!))) out.push(adopt(y!));
      j++;
    }
  }
  // An array grown by push reserves 17 slots at least; the stores inside documents (an embedded
  // counter, a multi-value register) mostly hold one entry, so short results are copied to size.
  return out.length <= SHORT ? out.slice() : out;
}

const same = <T>(x: T): T => x;

export function joinDots(
  a: readonly Dot[],
  mine: CausalContext,
  b: readonly Dot[],
  theirs: CausalContext,
): Dot[] {
  return joinDotEntries(a, mine, b, theirs, same, same);
}

export function dotsEqual(a: readonly Dot[], b: readonly Dot[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (compareDots(a[i]!, b[i]!) !== 0) return false;
  return true;
}

/** Reads a dot list and checks what the codec promises: strictly ascending and covered by the context. */
export function writeDots(enc: Encoder, dots: readonly Dot[]): void {
  enc.uint(dots.length);
  for (const d of dots) writeDot(enc, d);
}

export function readDots(dec: Decoder, ctx: CausalContext): Dot[] {
  const n = dec.count(2);
  const out: Dot[] = [];
  for (let i = 0; i < n; i++) {
    const d = readDot(dec);
    checkDot(dec, ctx, out[out.length - 1], d);
    out.push(d);
  }
  return out;
}

export function checkDot(dec: Decoder, ctx: CausalContext, prev: Dot | undefined, d: Dot): void {
  if (prev && compareDots(prev, d) >= 0) dec.fail('BAD_VALUE', 'dots not strictly ascending');
  if (!ctx.contains(d)) dec.fail('BAD_VALUE', 'dot in store but not in causal context');
}
