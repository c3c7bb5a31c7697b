import type { Crdt } from './Crdt.js';
import type { Decoder } from './codec/Decoder.js';
import type { Encoder } from './codec/Encoder.js';
import { assertJson, type Json, jsonKey, readJson, writeJson } from './Json.js';
import { compareTimestamps, readTimestamp, type Timestamp, writeTimestamp } from './Timestamp.js';

/** The latest event seen for one key: a write of `value`, or a removal (`value` undefined). */
interface Entry {
  readonly ts: Timestamp;
  readonly value: Json | undefined;
}

/**
 * LWW-element dictionary (seed 003; Shapiro et al. 2011, §3.3.3 for the set form): each key
 * keeps an add timestamp and a remove timestamp; the key is present while its add is at least
 * as new as its remove, and an add or remove older than what the key has is ignored.
 *
 * Only the newer of the two ever matters — an older add can never beat a newer remove, and
 * vice versa — so each key stores just its latest event: a value or a tombstone. Equal
 * timestamps (impossible with a correct clock, which never repeats) resolve add-over-remove,
 * then by the values' canonical order, so the join stays deterministic.
 */
export class LWWMap implements Crdt<Record<string, Json>> {
  static readonly tag = 6;
  static readonly typeName = 'LWWMap';
  static readonly causal = false;

  private readonly entries = new Map<string, Entry>();

  static empty(): LWWMap {
    return new LWWMap();
  }

  /** Adds or updates `key` with a write stamped `ts`; returns the delta. */
  set(ts: Timestamp, key: string, value: Json): LWWMap {
    assertJson(value);
    return this.record(key, { ts, value });
  }

  /** Removes `key` as of `ts`: hides every add older than `ts`; returns the delta. */
  remove(ts: Timestamp, key: string): LWWMap {
    return this.record(key, { ts, value: undefined });
  }

  private record(key: string, entry: Entry): LWWMap {
    const delta = new LWWMap();
    delta.entries.set(key, entry);
    this.join(delta);
    return delta;
  }

  get(key: string): Json | undefined {
    return this.entries.get(key)?.value;
  }

  has(key: string): boolean {
    return this.entries.get(key)?.value !== undefined;
  }

  keys(): string[] {
    return [...this.entries].filter(([, e]) => e.value !== undefined).map(([k]) => k);
  }

  value(): Record<string, Json> {
    const out: Record<string, Json> = {};
    for (const k of [...this.entries.keys()].sort()) {
      const v = this.entries.get(k)!.value;
      if (v !== undefined) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true });
    }
    return out;
  }

  join(other: LWWMap): this {
    for (const [k, theirs] of other.entries) {
      const mine = this.entries.get(k);
      if (mine !== theirs && (!mine || newer(theirs, mine))) this.entries.set(k, theirs);
    }
    return this;
  }

  clone(): this {
    const copy = new LWWMap();
    for (const [k, e] of this.entries) copy.entries.set(k, e);
    return copy as this;
  }

  equals(other: LWWMap): boolean {
    if (this.entries.size !== other.entries.size) return false;
    for (const [k, e] of this.entries) {
      const o = other.entries.get(k);
      if (!o || newer(e, o) || newer(o, e)) return false;
    }
    return true;
  }

  encodeTo(enc: Encoder): void {
    enc.uint(this.entries.size);
    for (const [k, e] of this.entries) {
      enc.string(k);
      writeTimestamp(enc, e.ts);
      if (e.value === undefined) enc.byte(0);
      else {
        enc.byte(1);
        writeJson(enc, e.value);
      }
    }
  }

  static decodeFrom(dec: Decoder): LWWMap {
    const m = new LWWMap();
    const n = dec.count(4);
    for (let i = 0; i < n; i++) {
      const k = dec.string();
      if (m.entries.has(k)) dec.fail('BAD_VALUE', 'duplicate map key');
      const ts = readTimestamp(dec);
      const present = dec.byte();
      if (present > 1) dec.fail('BAD_TAG', 'map entry presence flag');
      m.entries.set(k, { ts, value: present === 1 ? readJson(dec) : undefined });
    }
    return m;
  }
}

function newer(a: Entry, b: Entry): boolean {
  const c = compareTimestamps(a.ts, b.ts);
  if (c !== 0) return c > 0;
  if (a.value === b.value) return false;
  if (a.value === undefined || b.value === undefined) return b.value === undefined;
  return jsonKey(a.value) > jsonKey(b.value);
}
