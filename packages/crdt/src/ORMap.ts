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
import { byCodeUnits, sorted } from './sorted.js';
import type { Timestamp } from './Timestamp.js';

type Field = Causal<unknown>;

/** Wire tags are below 64: a byte on the wire. */
const MAX_TAG = 64;

/** The wire tag of a field's type. */
function tagOf(field: Field): number {
  return field instanceof Embedded ? field.type.tag : (field.constructor as unknown as CausalType).tag;
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

  /**
   * By name: the name's field, or — after concurrent writes of different types, which are rare —
   * its fields in an array ordered by tag. Keyed by the name alone, so a lookup builds no string
   * and no table of names is needed. Invariants: no field is bottom, no array is shorter than 2.
   */
  private readonly fields = new Map<string, Field | Field[]>();

  static empty(): ORMap {
    return new ORMap(new CausalContext());
  }

  static emptyIn(ctx: CausalContext): ORMap {
    return new ORMap(ctx);
  }

  /** The field `name` of `type`, or undefined. A plain CRDT is returned as its joined state: read it, don't mutate it. */
  get<T extends Crdt>(name: string, type: CrdtType<T>): T | undefined {
    const field = this.field(name, type.tag);
    if (!field) return undefined;
    return (type.causal ? field : (field as Embedded<T>).view()) as T;
  }

  has(name: string, type?: CrdtType): boolean {
    return type ? this.field(name, type.tag) !== undefined : this.fields.has(name);
  }

  /** The wire tags of the types field `name` has here: one, or several after concurrent writes of different types. */
  tags(name: string): number[] {
    const f = this.fields.get(name);
    if (f === undefined) return [];
    return Array.isArray(f) ? f.map(tagOf) : [tagOf(f)];
  }

  /**
   * Mutates field `name` of `type`, creating it if absent. `fn` receives the field and the id
   * to make its operations as, and returns the delta of its mutation (join several with `join`
   * to return them as one). For a causal CRDT that id is `replica`. A plain CRDT is received as
   * a copy to mutate (its result is ignored), and the id is its run's (`Embedded.update`):
   * operating as `replica` itself there can clash, after a removal, with operations made before.
   * Returns the map's delta.
   */
  update<T extends Crdt>(
    replica: ReplicaId,
    name: string,
    type: CrdtType<T>,
    fn: (field: T, as: ReplicaId) => T,
  ): ORMap {
    if (type.tag < 1 || type.tag >= MAX_TAG)
      throw new InvalidArgumentError('TYPE_MISMATCH', `bad tag ${type.tag}`);
    const field = this.field(name, type.tag) ?? this.newField(type);
    let fieldDelta: Field;
    if (type.causal) {
      fieldDelta = fn(field as unknown as T, replica) as unknown as Field;
      if (!(fieldDelta instanceof Causal) || fieldDelta.constructor !== field.constructor) {
        throw new InvalidArgumentError(
          'TYPE_MISMATCH',
          `update of ${type.typeName} must return that type's delta`,
        );
      }
    } else {
      fieldDelta = (field as Embedded<T>).update(replica, fn);
    }
    if (field.isBottom()) this.drop(name, type.tag);
    else this.put(name, field);
    const delta = new ORMap(fieldDelta.ctx);
    if (!fieldDelta.isBottom()) delta.fields.set(name, fieldDelta);
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
    for (let i = 0; i < names.length; i++) {
      this.fields.set(names[i]!, CausalRegister.written(this.ctx, i + 1, ts, values[i]!));
    }
    this.ctx.vv.advance(ts.replica, names.length);
  }

  /**
   * Writes what `encodeTo` writes for the map `setRegisters(ts, names, values)` makes, without
   * making it: a database writes a new document's change this way. `values` must have passed
   * `setRegisters`' checks.
   */
  static encodeRegisters(
    enc: Encoder,
    ts: Timestamp,
    names: readonly string[],
    values: readonly Json[],
  ): void {
    CausalContext.encodeUpTo(enc, ts.replica, names.length);
    enc.uint(names.length);
    for (let i = 0; i < names.length; i++) {
      enc.string(names[i]!);
      enc.byte(CausalRegister.tag);
      CausalRegister.encodeOne(enc, ts.replica, i + 1, ts.wall, ts.logical, values[i]!);
    }
  }

  /**
   * The map `setRegisters(ts, …)` makes for the names of `beside` in code-unit order and their
   * values, each register holding the value itself: what `writtenAt` tells from the map. A
   * database stores the state of such a document beside its JSON as `ts` alone.
   */
  static writtenBeside(ts: Timestamp, beside: Readonly<Record<string, unknown>>): ORMap {
    const names = namesOf(beside);
    const m = ORMap.empty();
    m.setRegisters(
      ts,
      names,
      names.map((name) => beside[name] as Json),
    );
    return m;
  }

  /**
   * The timestamp `writtenBeside` was given when this map is what it made for `beside`, and
   * nothing has changed it since; undefined otherwise.
   */
  writtenAt(beside: Readonly<Record<string, unknown>>): Timestamp | undefined {
    const upTo = this.ctx.onlyUpTo();
    if (!upTo || upTo.seq !== this.fields.size) return undefined;
    const names = namesOf(beside);
    if (names.length !== upTo.seq) return undefined;
    let ts: Timestamp | undefined;
    for (let i = 0; i < names.length; i++) {
      const f = this.fields.get(names[i]!);
      const at = f instanceof CausalRegister ? f.writtenAt(i + 1, beside[names[i]!]) : undefined;
      if (!at || at.replica !== upTo.replica || (ts && (at.wall !== ts.wall || at.logical !== ts.logical)))
        return undefined;
      ts = at;
    }
    return ts;
  }

  /** Removes `name` (of `type`, or of every type) as far as this replica has seen it; returns the delta. */
  remove(name: string, type?: CrdtType): ORMap {
    const dots: Dot[] = [];
    for (const tag of type ? [type.tag] : this.tags(name)) {
      const field = this.field(name, tag);
      if (!field) continue;
      field.collectDots(dots);
      this.drop(name, tag);
    }
    return new ORMap(CausalContext.of(dots));
  }

  /** Field names, sorted. */
  keys(): string[] {
    return sorted([...this.fields.keys()], byCodeUnits);
  }

  /** The number of fields: names, and a name once more per further type it has. */
  get size(): number {
    let n = 0;
    this.fields.forEach((f) => {
      n += Array.isArray(f) ? f.length : 1;
    });
    return n;
  }

  /** Plain JSON-like view: each field's value, fields sorted by name. */
  value(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const name of this.keys()) {
      const f = this.fields.get(name)!;
      // A name with fields of several types shows the one with the higher tag.
      const value = (Array.isArray(f) ? f[f.length - 1]! : f).value();
      // A field named __proto__ is data: plain assignment would set the prototype instead.
      if (name === '__proto__')
        Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
      else out[name] = value;
    }
    return out;
  }

  /** The field `name` of the type tagged `tag`. */
  private field(name: string, tag: number): Field | undefined {
    const f = this.fields.get(name);
    if (f === undefined) return undefined;
    if (!Array.isArray(f)) return tagOf(f) === tag ? f : undefined;
    return f.find((x) => tagOf(x) === tag);
  }

  /** Stores `field` as `name`'s field of its type, replacing the one it had. */
  private put(name: string, field: Field): void {
    const cur = this.fields.get(name);
    if (cur === field) return;
    if (cur === undefined) {
      this.fields.set(name, field);
      return;
    }
    const tag = tagOf(field);
    if (!Array.isArray(cur)) {
      const t = tagOf(cur);
      this.fields.set(name, t === tag ? field : t < tag ? [cur, field] : [field, cur]);
      return;
    }
    // A new array, never an edit in place: a pass over the fields may be iterating the old one.
    const rest = cur.filter((x) => tagOf(x) !== tag);
    const at = rest.findIndex((x) => tagOf(x) > tag);
    rest.splice(at < 0 ? rest.length : at, 0, field);
    this.fields.set(name, rest);
  }

  /** Drops `name`'s field of the type tagged `tag`. */
  private drop(name: string, tag: number): void {
    const cur = this.fields.get(name);
    if (cur === undefined) return;
    if (!Array.isArray(cur)) {
      if (tagOf(cur) === tag) this.fields.delete(name);
      return;
    }
    const rest = cur.filter((x) => tagOf(x) !== tag);
    this.fields.set(name, rest.length === 1 ? rest[0]! : rest);
  }

  /** Calls `fn` for every field, with its name. forEach, not for-of: no [key, value] array per field. */
  private forEachField(fn: (field: Field, name: string) => void): void {
    this.fields.forEach((f, name) => {
      if (Array.isArray(f)) for (const x of f) fn(x, name);
      else fn(f, name);
    });
  }

  private newField<T extends Crdt>(type: CrdtType<T>): Field {
    return type.causal ? (type as unknown as CausalType).emptyIn(this.ctx) : new Embedded(this.ctx, type);
  }

  /** Joins every field the other side holds into this side's field of the same name and type. */
  private joinFields(other: ORMap, mine: CausalContext, theirs: CausalContext): void {
    other.forEachField((theirField, name) => {
      const tag = tagOf(theirField);
      const field = this.field(name, tag) ?? theirField.fresh(this.ctx);
      field.joinStore(theirField, mine, theirs);
      if (field.isBottom()) this.drop(name, tag);
      else this.put(name, field);
    });
  }

  joinStore(other: ORMap, mine: CausalContext, theirs: CausalContext): void {
    this.joinFields(other, mine, theirs);
    this.forEachField((field, name) => {
      const tag = tagOf(field);
      if (other.field(name, tag)) return;
      // The other side has no such field: its bottom, which drops the dots it saw.
      field.dropSeen(theirs);
      if (field.isBottom()) this.drop(name, tag);
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
    this.forEachField((f) => f.collectDots(out));
  }

  fresh(ctx: CausalContext): this {
    return new ORMap(ctx) as this;
  }

  cloneIn(ctx: CausalContext): this {
    const copy = new ORMap(ctx);
    this.fields.forEach((f, name) => {
      copy.fields.set(name, Array.isArray(f) ? f.map((x) => x.cloneIn(ctx)) : f.cloneIn(ctx));
    });
    return copy as this;
  }

  storeEquals(other: ORMap): boolean {
    if (this.fields.size !== other.fields.size) return false;
    for (const [name, f] of this.fields) {
      const o = other.fields.get(name);
      if (o === undefined) return false;
      const mine = Array.isArray(f) ? f : [f];
      const theirs = Array.isArray(o) ? o : [o];
      if (mine.length !== theirs.length) return false;
      for (let i = 0; i < mine.length; i++) {
        if (tagOf(mine[i]!) !== tagOf(theirs[i]!) || !mine[i]!.storeEquals(theirs[i]!)) return false;
      }
    }
    return true;
  }

  /** `beside`: see `encodeBeside`. */
  encodeStore(enc: Encoder, beside?: Readonly<Record<string, unknown>>): void {
    enc.uint(this.size);
    this.forEachField((f, name) => {
      enc.string(name);
      enc.byte(tagOf(f));
      if (beside) enc.known = Object.hasOwn(beside, name) ? beside[name] : undefined;
      f.encodeStore(enc);
      enc.known = undefined;
    });
  }

  static decodeStore(dec: Decoder, ctx: CausalContext, beside?: Readonly<Record<string, unknown>>): ORMap {
    const m = new ORMap(ctx);
    const n = dec.count(3);
    dec.enter();
    for (let i = 0; i < n; i++) {
      const name = dec.string();
      const type = dec.type(dec.byte());
      if (m.field(name, type.tag)) dec.fail('BAD_VALUE', `duplicate field ${JSON.stringify(name)}`);
      if (beside) dec.known = Object.hasOwn(beside, name) ? beside[name] : undefined;
      const field = type.causal
        ? (type as unknown as CausalType).decodeStore(dec, ctx)
        : Embedded.decodeStore(dec, ctx, type);
      dec.known = undefined;
      if (field.isBottom()) dec.fail('BAD_VALUE', `empty field ${JSON.stringify(name)}`);
      m.put(name, field);
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

/** A value's names in code-unit order (its own key order puts integer-like keys first). */
function namesOf(value: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(value).sort();
}
