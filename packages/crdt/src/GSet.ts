import type { Crdt } from './Crdt.js';
import type { Decoder } from './codec/Decoder.js';
import type { Encoder } from './codec/Encoder.js';
import { assertJson, type Json, jsonKey, readJson, writeJson } from './Json.js';

/** Grow-only set (Shapiro et al. 2011, §3.3.1): elements are added, never removed; join is union. */
export class GSet implements Crdt<Json[]> {
  static readonly tag = 3;
  static readonly typeName = 'GSet';
  static readonly causal = false;

  /** Keyed by `jsonKey`, so deeply equal JSON values are one element. */
  private readonly elements = new Map<string, Json>();

  static empty(): GSet {
    return new GSet();
  }

  /** Adds `element`; returns the delta (empty if it was already there). */
  add(element: Json): GSet {
    assertJson(element);
    const key = jsonKey(element);
    const delta = new GSet();
    if (!this.elements.has(key)) {
      this.elements.set(key, element);
      delta.elements.set(key, element);
    }
    return delta;
  }

  has(element: Json): boolean {
    return this.elements.has(jsonKey(element));
  }

  get size(): number {
    return this.elements.size;
  }

  /** The elements, in a deterministic order (by their canonical key), so every replica lists them alike. */
  value(): Json[] {
    return [...this.elements.keys()].sort().map((k) => this.elements.get(k)!);
  }

  join(other: GSet): this {
    for (const [k, e] of other.elements) if (!this.elements.has(k)) this.elements.set(k, e);
    return this;
  }

  clone(): this {
    const copy = new GSet();
    for (const [k, e] of this.elements) copy.elements.set(k, e);
    return copy as this;
  }

  equals(other: GSet): boolean {
    if (this.elements.size !== other.elements.size) return false;
    for (const k of this.elements.keys()) if (!other.elements.has(k)) return false;
    return true;
  }

  encodeTo(enc: Encoder): void {
    enc.uint(this.elements.size);
    for (const e of this.elements.values()) writeJson(enc, e);
  }

  static decodeFrom(dec: Decoder): GSet {
    const s = new GSet();
    const n = dec.count();
    for (let i = 0; i < n; i++) {
      const e = readJson(dec);
      const key = jsonKey(e);
      if (s.elements.has(key)) dec.fail('BAD_VALUE', 'duplicate set element');
      s.elements.set(key, e);
    }
    return s;
  }
}
