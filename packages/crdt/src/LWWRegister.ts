import type { Crdt } from './Crdt.js';
import type { Decoder } from './codec/Decoder.js';
import type { Encoder } from './codec/Encoder.js';
import { assertJson, type Json, jsonKey, readJson, writeJson } from './Json.js';
import { compareTimestamps, readTimestamp, type Timestamp, writeTimestamp } from './Timestamp.js';

/**
 * Last-writer-wins register (Shapiro et al. 2011, §3.2.1): the write with the greatest HLC
 * timestamp wins, whatever the causality. Timestamps are totally ordered (replica id breaks
 * ties), so every replica picks the same winner. For a register that lets a causally later
 * write win even against a clock running ahead, and keeps the losers, see `CausalRegister`.
 */
export class LWWRegister implements Crdt<Json | undefined> {
  static readonly tag = 5;
  static readonly typeName = 'LWWRegister';
  static readonly causal = false;

  private current: { readonly value: Json; readonly ts: Timestamp } | undefined;

  static empty(): LWWRegister {
    return new LWWRegister();
  }

  /** Writes `value` stamped `ts` (from the writer's `HybridLogicalClock.now()`); returns the delta. */
  set(ts: Timestamp, value: Json): LWWRegister {
    assertJson(value);
    const delta = new LWWRegister();
    delta.current = { value, ts };
    this.join(delta);
    return delta;
  }

  value(): Json | undefined {
    return this.current?.value;
  }

  timestamp(): Timestamp | undefined {
    return this.current?.ts;
  }

  join(other: LWWRegister): this {
    if (other.current && (!this.current || compareWrites(other.current, this.current) > 0)) {
      this.current = other.current;
    }
    return this;
  }

  clone(): this {
    const copy = new LWWRegister();
    copy.current = this.current;
    return copy as this;
  }

  equals(other: LWWRegister): boolean {
    if (!this.current || !other.current) return this.current === other.current;
    return compareWrites(this.current, other.current) === 0;
  }

  encodeTo(enc: Encoder): void {
    if (!this.current) {
      enc.byte(0);
      return;
    }
    enc.byte(1);
    writeTimestamp(enc, this.current.ts);
    writeJson(enc, this.current.value);
  }

  static decodeFrom(dec: Decoder): LWWRegister {
    const r = new LWWRegister();
    const present = dec.byte();
    if (present > 1) dec.fail('BAD_TAG', 'register presence flag');
    if (present === 1) r.current = { ts: readTimestamp(dec), value: readJson(dec) };
    return r;
  }
}

/** Timestamp order; equal timestamps (never issued by a correct clock) fall back to the values' canonical order. */
function compareWrites(a: { ts: Timestamp; value: Json }, b: { ts: Timestamp; value: Json }): number {
  const c = compareTimestamps(a.ts, b.ts);
  if (c !== 0) return c;
  const ka = jsonKey(a.value);
  const kb = jsonKey(b.value);
  return ka === kb ? 0 : ka < kb ? -1 : 1;
}
