import { Causal, type CausalType } from './Causal.js';
import { CausalContext } from './CausalContext.js';
import { CausalRegister, checkWall } from './CausalRegister.js';
import type { Crdt, CrdtType } from './Crdt.js';
import type { Decoder } from './codec/Decoder.js';
import type { Encoder } from './codec/Encoder.js';
import type { Dot } from './Dot.js';
import { Embedded } from './Embedded.js';
import { InvalidArgumentError } from './errors.js';
import { assertJson, type Json } from './Json.js';
import type { ReplicaId } from './ReplicaId.js';
import type { Timestamp } from './Timestamp.js';

type Field = Causal<unknown>;

/** Wire tags are below 64, so one UTF-16 unit names the field's type. */
const MAX_TAG = 64;

/**
 * Field keys are interned: a collection repeats the same few names in every document, and a key
 * per field per document would cost more than most values. A key is interned when a field is
 * stored, so the table also says which types a name has ever had (see `tags`). Bounded, so
 * names from the wire cannot grow it without limit.
 */
const KEYS = new Map<string, string[]>();
const MAX_INTERNED_NAMES = 10_000;

/** The interned key of a field being stored. */
function internKey(name: string, tag: number): string {
  let byTag = KEYS.get(name);
  if (byTag === undefined) {
    if (KEYS.size >= MAX_INTERNED_NAMES) return String.fromCharCode(tag) + name;
    byTag = [];
    KEYS.set(name, byTag);
  }
  let key = byTag[tag];
  if (key === undefined) {
    key = String.fromCharCode(tag) + name;
    byTag[tag] = key;
  }
  return key;
}

/** The key to look a field up by: the interned one if there is one, so no string is built. */
function fieldKey(name: string, tag: number): string {
  return KEYS.get(name)?.[tag] ?? String.fromCharCode(tag) + name;
}

/** Orders field keys by name, then tag, without slicing them: code units compare as `<` does. */
function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 1; i < n; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d;
  }
  return a.length - b.length || a.charCodeAt(0) - b.charCodeAt(0);
}

/**
 * Add-wins map of nested CRDTs (Almeida et al. 2018, §7.4, "ORMap"; seed 001's AddWinsMap,
 * seed 004's ORMap). Every field is a causal CRDT sharing the map's causal context, so one
 * context tracks every dot at any depth. A field exists while its store holds a dot:
 *
 * - removing a key drops the dots the remover saw, in every nested level at once;
 * - an update concurrent with that removal made a dot the remover never saw, so the key
 *   survives with that update (update wins);
 * - plain CRDTs (counters, GSet, LWWMap, ...) are wrapped in `Embedded` so they too can be
 *   removed without coming back.
 *
 * A field is identified by name *and* type, like Riak DT's map: two replicas that concurrently
 * create `tags` as an ORSet and as a counter keep both, rather than one silently destroying the
 * other. `value()` shows, for such a name, the type with the higher tag; `get` reads either.
 */
export class ORMap extends Causal<Record<string, unknown>> {
  static readonly tag = 11;
  static readonly typeName = 'ORMap';
  static readonly causal = true;

  /** Keyed by `fieldKey(name, tag)`. Invariant: no field is bottom. */
  private readonly fields = new Map<string, Field>();

  static empty(): ORMap {
    return new ORMap(new CausalContext());
  }

  static emptyIn(ctx: CausalContext): ORMap {
    return new ORMap(ctx);
  }

  /** The field `name` of `type`, or undefined. A plain CRDT is returned as its joined state: read it, don't mutate it. */
  get<T extends Crdt>(name: string, type: CrdtType<T>): T | undefined {
    const field = this.fields.get(fieldKey(name, type.tag));
    if (!field) return undefined;
    return (type.causal ? field : (field as Embedded<T>).view()) as T;
  }

  has(name: string, type?: CrdtType): boolean {
    if (type) return this.fields.has(fieldKey(name, type.tag));
    return this.tags(name).length > 0;
  }

  /** The wire tags of the types field `name` has here: one, or several after concurrent writes of different types. */
  tags(name: string): number[] {
    const out: number[] = [];
    const byTag = KEYS.get(name);
    if (byTag) {
      byTag.forEach((key, tag) => {
        if (this.fields.has(key)) out.push(tag);
      });
    } else if (KEYS.size >= MAX_INTERNED_NAMES) {
      // The table filled up before this name came: look at every tag.
      for (let tag = 1; tag < MAX_TAG; tag++)
        if (this.fields.has(String.fromCharCode(tag) + name)) out.push(tag);
    }
    // Otherwise no map has ever stored a field of that name.
    return out;
  }

  /**
   * Mutates field `name` of `type`, creating it if absent. `fn` receives the field and returns
   * the delta of its mutation (join several with `join` to return them as one); for a plain
   * CRDT it receives a copy to mutate and its result is ignored. Returns the map's delta.
   */
  update<T extends Crdt>(replica: ReplicaId, name: string, type: CrdtType<T>, fn: (field: T) => T): ORMap {
    if (type.tag < 1 || type.tag >= MAX_TAG)
      throw new InvalidArgumentError('TYPE_MISMATCH', `bad tag ${type.tag}`);
    const key = internKey(name, type.tag);
    const field = this.fields.get(key) ?? this.newField(type);
    let fieldDelta: Field;
    if (type.causal) {
      fieldDelta = fn(field as unknown as T) as unknown as Field;
      if (!(fieldDelta instanceof Causal) || fieldDelta.constructor !== field.constructor) {
        throw new InvalidArgumentError(
          'TYPE_MISMATCH',
          `update of ${type.typeName} must return that type's delta`,
        );
      }
    } else {
      fieldDelta = (field as Embedded<T>).update(replica, fn);
    }
    if (field.isBottom()) this.fields.delete(key);
    else this.fields.set(key, field);
    const delta = new ORMap(fieldDelta.ctx);
    if (!fieldDelta.isBottom()) delta.fields.set(key, fieldDelta);
    return delta;
  }

  /**
   * Writes registers `names[i] = values[i]` into this map, which must have seen nothing yet (a
   * document new to its replica): each takes the next dot of `ts.replica` and the timestamp
   * `ts`, in order — the state that `update(…, (r) => r.set(ts, value))` per name leaves. No
   * delta is made: the map's context then holds exactly the dots of these writes, so the map
   * itself is their joined delta (a delta-mutator applied to bottom yields its delta; Almeida et
   * al. 2018, §4). Names are distinct; values are checked with `assertJson`.
   */
  setRegisters(ts: Timestamp, names: readonly string[], values: readonly Json[]): void {
    if (this.fields.size > 0 || !this.ctx.isEmpty())
      throw new InvalidArgumentError('TYPE_MISMATCH', 'setRegisters writes into a map that has seen nothing');
    checkWall(ts);
    for (const v of values) assertJson(v);
    const tag = CausalRegister.tag;
    for (let i = 0; i < names.length; i++) {
      this.fields.set(internKey(names[i]!, tag), CausalRegister.written(this.ctx, i + 1, ts, values[i]!));
    }
    this.ctx.vv.advance(ts.replica, names.length);
  }

  /**
   * Writes what `encodeTo` writes for the map `setRegisters(ts, names, values)` makes — or, with
   * `beside`, what `encodeBeside` writes beside a value holding `values[i]` at `names[i]` —
   * without making it: a database writes a new document's change and stored form this way.
   * `values` must have passed `setRegisters`' checks.
   */
  static encodeRegisters(
    enc: Encoder,
    ts: Timestamp,
    names: readonly string[],
    values: readonly Json[],
    beside: boolean,
  ): void {
    CausalContext.encodeUpTo(enc, ts.replica, names.length);
    enc.uint(names.length);
    for (let i = 0; i < names.length; i++) {
      enc.string(names[i]!);
      enc.byte(CausalRegister.tag);
      if (beside) enc.known = values[i];
      CausalRegister.encodeOne(enc, ts.replica, i + 1, ts.wall, ts.logical, values[i]!);
      enc.known = undefined;
    }
  }

  /** Removes `name` (of `type`, or of every type) as far as this replica has seen it; returns the delta. */
  remove(name: string, type?: CrdtType): ORMap {
    const dots: Dot[] = [];
    for (const tag of type ? [type.tag] : this.tags(name)) {
      const key = fieldKey(name, tag);
      const field = this.fields.get(key);
      if (!field) continue;
      field.collectDots(dots);
      this.fields.delete(key);
    }
    return new ORMap(CausalContext.of(dots));
  }

  /** Field names, sorted. */
  keys(): string[] {
    return [...new Set([...this.fields.keys()].map((k) => k.slice(1)))].sort();
  }

  get size(): number {
    return this.fields.size;
  }

  /** Plain JSON-like view: each field's value, fields sorted by name. */
  value(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    // Sorting by (name, tag) and letting later writes win shows the higher tag on a name clash.
    const keys = [...this.fields.keys()].sort(compareKeys);
    for (const k of keys) {
      const name = k.slice(1);
      const value = this.fields.get(k)!.value();
      // A field named __proto__ is data: plain assignment would set the prototype instead.
      if (name === '__proto__')
        Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
      else out[name] = value;
    }
    return out;
  }

  private newField<T extends Crdt>(type: CrdtType<T>): Field {
    return type.causal ? (type as unknown as CausalType).emptyIn(this.ctx) : new Embedded(this.ctx, type);
  }

  /** Joins every field the other side holds into this side's field of the same key. */
  private joinFields(other: ORMap, mine: CausalContext, theirs: CausalContext): void {
    // forEach, not for-of over entries: no [key, value] array per field (joins run per write).
    other.fields.forEach((theirField, k) => {
      const field = this.fields.get(k) ?? theirField.fresh(this.ctx);
      field.joinStore(theirField, mine, theirs);
      if (field.isBottom()) this.fields.delete(k);
      else this.fields.set(k, field);
    });
  }

  joinStore(other: ORMap, mine: CausalContext, theirs: CausalContext): void {
    this.joinFields(other, mine, theirs);
    this.fields.forEach((field, k) => {
      if (other.fields.has(k)) return;
      // The other side has no such field: its bottom, which drops the dots it saw.
      field.dropSeen(theirs);
      if (field.isBottom()) this.fields.delete(k);
    });
  }

  /**
   * Joins `delta`, a delta that `update` returned after the deltas already joined into this one
   * (the writes of one batch, in order), without the general join's pass over every field only
   * this side holds. That pass is a no-op here: an update's context holds only dots of the field
   * it names — the new one and those it overwrote — so it cannot drop any other field. A removal
   * names no field, and gets the general join.
   */
  absorb(delta: ORMap): this {
    if (delta.fields.size === 0) return this.join(delta as this);
    this.joinFields(delta, this.ctx, delta.ctx);
    this.ctx.merge(delta.ctx);
    return this;
  }

  isBottom(): boolean {
    return this.fields.size === 0;
  }

  collectDots(out: Dot[]): void {
    for (const f of this.fields.values()) f.collectDots(out);
  }

  fresh(ctx: CausalContext): this {
    return new ORMap(ctx) as this;
  }

  cloneIn(ctx: CausalContext): this {
    const copy = new ORMap(ctx);
    for (const [k, f] of this.fields) copy.fields.set(k, f.cloneIn(ctx));
    return copy as this;
  }

  storeEquals(other: ORMap): boolean {
    if (this.fields.size !== other.fields.size) return false;
    for (const [k, f] of this.fields) {
      const o = other.fields.get(k);
      if (!o || !f.storeEquals(o)) return false;
    }
    return true;
  }

  /** `beside`: see `encodeBeside`. */
  encodeStore(enc: Encoder, beside?: Readonly<Record<string, unknown>>): void {
    enc.uint(this.fields.size);
    for (const [k, f] of this.fields) {
      const name = k.slice(1);
      enc.string(name);
      enc.byte(k.charCodeAt(0));
      if (beside) enc.known = Object.hasOwn(beside, name) ? beside[name] : undefined;
      f.encodeStore(enc);
      enc.known = undefined;
    }
  }

  static decodeStore(dec: Decoder, ctx: CausalContext, beside?: Readonly<Record<string, unknown>>): ORMap {
    const m = new ORMap(ctx);
    const n = dec.count(3);
    dec.enter();
    for (let i = 0; i < n; i++) {
      const name = dec.string();
      const type = dec.type(dec.byte());
      const key = internKey(name, type.tag);
      if (m.fields.has(key)) dec.fail('BAD_VALUE', `duplicate field ${JSON.stringify(name)}`);
      if (beside) dec.known = Object.hasOwn(beside, name) ? beside[name] : undefined;
      const field = type.causal
        ? (type as unknown as CausalType).decodeStore(dec, ctx)
        : Embedded.decodeStore(dec, ctx, type);
      dec.known = undefined;
      if (field.isBottom()) dec.fail('BAD_VALUE', `empty field ${JSON.stringify(name)}`);
      m.fields.set(key, field);
    }
    dec.leave();
    return m;
  }

  static decodeFrom(dec: Decoder): ORMap {
    return ORMap.decodeStore(dec, CausalContext.decodeFrom(dec));
  }

  /**
   * `encodeTo`, for a map stored beside its plain value `beside` (its JSON, as a database keeps
   * a document): a value that is `beside[name]` — each field's register value, mostly — is
   * written as a reference to it, so the stored form holds every value once.
   * `decodeBeside` with an equal `beside` reads it back.
   */
  encodeBeside(enc: Encoder, beside: Readonly<Record<string, unknown>>): void {
    this.ctx.encodeTo(enc);
    this.encodeStore(enc, beside);
  }

  static decodeBeside(dec: Decoder, beside: Readonly<Record<string, unknown>>): ORMap {
    return ORMap.decodeStore(dec, CausalContext.decodeFrom(dec), beside);
  }
}
