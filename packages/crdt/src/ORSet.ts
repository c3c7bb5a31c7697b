import { Causal, dotsEqual, joinDots, readDots, writeDots } from './Causal.js';
import { CausalContext } from './CausalContext.js';
import type { Decoder } from './codec/Decoder.js';
import type { Encoder } from './codec/Encoder.js';
import type { Dot } from './Dot.js';
import { assertJson, type Json, jsonKey, readJson, writeJson } from './Json.js';
import type { ReplicaId } from './ReplicaId.js';

interface Element {
  readonly element: Json;
  dots: Dot[];
}

/**
 * Add-wins observed-remove set (Shapiro et al. 2011, §3.3.5; the optimised delta form of
 * Almeida et al. 2018, §7.2, "AWSet"): a map from element to the dots of the adds that are
 * still live. A remove drops the dots it observed, so an add concurrent with it keeps its own
 * dot and the element stays: add wins. Removed elements leave no tombstone — only their dots
 * in the causal context.
 */
export class ORSet extends Causal<Json[]> {
  static readonly tag = 8;
  static readonly typeName = 'ORSet';
  static readonly causal = true;

  /** Keyed by `jsonKey`, so deeply equal JSON values are one element. */
  private readonly elements = new Map<string, Element>();

  static empty(): ORSet {
    return new ORSet(new CausalContext());
  }

  static emptyIn(ctx: CausalContext): ORSet {
    return new ORSet(ctx);
  }

  /** Adds `element` with a fresh dot of `replica`; returns the delta. */
  add(replica: ReplicaId, element: Json): ORSet {
    assertJson(element);
    const key = jsonKey(element);
    const dot = this.ctx.next(replica);
    const existing = this.elements.get(key);
    const delta = new ORSet(CausalContext.of(existing ? [...existing.dots, dot] : [dot]));
    delta.elements.set(key, { element, dots: [dot] });
    this.elements.set(key, { element, dots: [dot] });
    return delta;
  }

  /** Removes `element` as far as this replica has seen it; returns the delta. */
  remove(element: Json): ORSet {
    const key = jsonKey(element);
    const existing = this.elements.get(key);
    const delta = new ORSet(CausalContext.of(existing?.dots ?? []));
    this.elements.delete(key);
    return delta;
  }

  /** Removes every element seen so far; returns the delta. */
  clear(): ORSet {
    const delta = new ORSet(this.overwriteContext());
    this.elements.clear();
    return delta;
  }

  has(element: Json): boolean {
    return this.elements.has(jsonKey(element));
  }

  get size(): number {
    return this.elements.size;
  }

  /** The elements, in a deterministic order (by canonical key). */
  value(): Json[] {
    return [...this.elements.keys()].sort().map((k) => this.elements.get(k)!.element);
  }

  joinStore(other: ORSet, mine: CausalContext, theirs: CausalContext): void {
    for (const [k, e] of this.elements) {
      const dots = joinDots(e.dots, mine, other.elements.get(k)?.dots ?? [], theirs);
      if (dots.length === 0) this.elements.delete(k);
      else e.dots = dots;
    }
    for (const [k, o] of other.elements) {
      if (this.elements.has(k)) continue;
      const dots = o.dots.filter((d) => !mine.contains(d));
      if (dots.length > 0) this.elements.set(k, { element: o.element, dots });
    }
  }

  isBottom(): boolean {
    return this.elements.size === 0;
  }

  collectDots(out: Dot[]): void {
    for (const e of this.elements.values()) for (const d of e.dots) out.push(d);
  }

  fresh(ctx: CausalContext): this {
    return new ORSet(ctx) as this;
  }

  cloneIn(ctx: CausalContext): this {
    const copy = new ORSet(ctx);
    for (const [k, e] of this.elements) copy.elements.set(k, { element: e.element, dots: e.dots.slice() });
    return copy as this;
  }

  storeEquals(other: ORSet): boolean {
    if (this.elements.size !== other.elements.size) return false;
    for (const [k, e] of this.elements) {
      const o = other.elements.get(k);
      if (!o || !dotsEqual(e.dots, o.dots)) return false;
    }
    return true;
  }

  encodeStore(enc: Encoder): void {
    enc.uint(this.elements.size);
    for (const e of this.elements.values()) {
      writeJson(enc, e.element);
      writeDots(enc, e.dots);
    }
  }

  static decodeStore(dec: Decoder, ctx: CausalContext): ORSet {
    const s = new ORSet(ctx);
    const n = dec.count(2);
    for (let i = 0; i < n; i++) {
      const element = readJson(dec);
      const key = jsonKey(element);
      if (s.elements.has(key)) dec.fail('BAD_VALUE', 'duplicate set element');
      const dots = readDots(dec, ctx);
      if (dots.length === 0) dec.fail('BAD_VALUE', 'set element without dots');
      s.elements.set(key, { element, dots });
    }
    return s;
  }

  static decodeFrom(dec: Decoder): ORSet {
    return ORSet.decodeStore(dec, CausalContext.decodeFrom(dec));
  }
}
