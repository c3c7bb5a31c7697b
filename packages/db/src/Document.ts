import {
  CausalRegister,
  type Crdt,
  type CrdtType,
  Flag,
  InvalidArgumentError,
  type Json,
  List,
  ORMap,
  ORSet,
  PNCounter,
  type ReplicaId,
  Text,
  type Timestamp,
} from '@concord/crdt';
import { assertJson, isJsonScalar, jsonKey } from '@concord/crdt/internal';
import { DbError } from './errors.js';
import { isAttachmentRef, type PropertyKind, Typed } from './values.js';

const TYPES: Record<PropertyKind, CrdtType> = {
  register: CausalRegister,
  attachment: CausalRegister,
  counter: PNCounter,
  map: ORMap,
  list: List,
  text: Text,
  flag: Flag,
  set: ORSet,
};

/** The presence marker: every live document holds its id in this register. */
export const ID = '_id';

/**
 * What a write needs: who writes, when, and the schema's kind for a property path. `time` is
 * its transaction's: every register a transaction sets is stamped alike (see `Database.transaction`).
 */
export interface WriteContext {
  readonly replica: ReplicaId;
  readonly time: Timestamp;
  /** The kinds the collection's schema declares, by property path. */
  readonly kinds: ReadonlyMap<string, PropertyKind>;
  /**
   * The document written to is a stale state (one evicted from this replica, see
   * `CollectionState.evicted`): registers and flags are written even where they equal it.
   */
  readonly blind?: boolean;
}

export type WriteMode = 'merge' | 'replace';

/** A property and the CRDT it is (see `Collection.kinds`). */
export interface FieldKind {
  readonly path: string;
  readonly kind: PropertyKind;
}

/** One register that holds concurrent values: the winner is in the document, these lost. */
export interface Conflict {
  readonly path: string;
  readonly value: Json;
  readonly losers: Array<{ value: Json; ts: Timestamp }>;
}

/**
 * A document: an add-wins map (ORMap) whose properties are each a CRDT — a causal LWW register
 * by default, or a counter, nested map, list, text, flag or set. Writes compare the new JSON
 * with the current state and record operations only for properties whose value differs
 * (seed 000: an unchanged product records nothing).
 */
export class Document {
  constructor(readonly state: ORMap = ORMap.empty()) {}

  /** Live documents hold at least their id; a removed one keeps only its causal context. */
  get present(): boolean {
    return !this.state.isBottom();
  }

  value(id: string): Record<string, unknown> | undefined {
    if (!this.present) return undefined;
    const v = this.state.value();
    v[ID] = id;
    return v;
  }

  /**
   * Writes `input` (a document's JSON, `_id` excluded) and returns the delta, or undefined if
   * nothing differs. `replace` also removes the properties `input` lacks; `merge` keeps them.
   * Throws `DbError` at the first unfit value, with the properties before it already written:
   * callers write on a copy (a Transaction stages copies) and drop it when this throws.
   */
  write(id: string, input: Record<string, unknown>, ctx: WriteContext, mode: WriteMode): ORMap | undefined {
    const deltas: ORMap[] = [];
    if (!this.state.has(ID, CausalRegister)) {
      deltas.push(this.state.update(ctx.replica, ID, CausalRegister, (r) => r.set(ctx.time, id)));
    }
    writeMap(this.state, input, '', ctx, mode, deltas, true);
    return joinAll(deltas);
  }

  /** Removes every property this replica has seen; a concurrent update survives (add-wins). */
  remove(): ORMap | undefined {
    if (!this.present) return undefined;
    const deltas = this.state.keys().map((k) => this.state.remove(k));
    return joinAll(deltas);
  }

  conflicts(): Conflict[] {
    const out: Conflict[] = [];
    collectConflicts(this.state, '', out);
    return out;
  }

  /** Which CRDT each property is, by dotted path (a nested map's properties after it); `_id` is none. */
  kinds(): FieldKind[] {
    const out: FieldKind[] = [];
    collectKinds(this.state, '', out);
    return out;
  }

  clone(): Document {
    return new Document(this.state.clone());
  }
}

/** The deltas of one batch of writes to one map, in order, as one delta (see `ORMap.absorb`). */
function joinAll(deltas: ORMap[]): ORMap | undefined {
  const [first, ...rest] = deltas;
  if (!first) return undefined;
  for (const d of rest) first.absorb(d);
  return first;
}

function collectKinds(m: ORMap, prefix: string, out: FieldKind[]): void {
  for (const name of m.keys()) {
    const type = prefix === '' && name === ID ? undefined : existingType(m, name);
    if (!type) continue;
    const path = prefix + name;
    const attachment = type === CausalRegister && isAttachmentRef(m.get(name, CausalRegister)?.value());
    out.push({ path, kind: attachment ? 'attachment' : kindOfType(type) });
    if (type === ORMap) collectKinds(m.get(name, ORMap)!, `${path}.`, out);
  }
}

function collectConflicts(m: ORMap, prefix: string, out: Conflict[]): void {
  for (const name of m.keys()) {
    const path = prefix + name;
    const r = prefix === '' && name === ID ? undefined : m.get(name, CausalRegister);
    if (r) {
      // Concurrent writes of the same value are agreement, not a conflict.
      const won = jsonKey(r.value()!);
      const losers = r.conflicts().filter((l) => jsonKey(l.value) !== won);
      if (losers.length > 0) out.push({ path, value: r.value()!, losers });
    }
    const nested = m.get(name, ORMap);
    if (nested) collectConflicts(nested, `${path}.`, out);
  }
}

/** Every type a property can have, by wire tag. */
const TYPE_OF_TAG = new Map(Object.values(TYPES).map((t) => [t.tag, t]));

/** The kind a property currently has (the one its value shows: the highest tag), if it exists. */
function existingType(m: ORMap, name: string): CrdtType | undefined {
  let best: CrdtType | undefined;
  for (const tag of m.tags(name)) {
    const t = TYPE_OF_TAG.get(tag);
    if (t && (!best || t.tag > best.tag)) best = t;
  }
  return best;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

function kindFor(m: ORMap, name: string, v: unknown, path: string, ctx: WriteContext): PropertyKind {
  if (v instanceof Typed) return v.kind;
  const declared = ctx.kinds.get(path);
  if (declared) return declared;
  const existing = existingType(m, name);
  return existing ? kindOfType(existing) : 'register';
}

/** The kind a CRDT type is written as (a register for CausalRegister, which attachments share). */
function kindOfType(type: CrdtType): PropertyKind {
  return (Object.keys(TYPES) as PropertyKind[]).find((k) => TYPES[k] === type)!;
}

export const fail = (
  code: 'TYPE_MISMATCH' | 'NOT_JSON' | 'RESERVED_KEY',
  path: string,
  what: string,
): never => {
  throw new DbError(code, `${path}: ${what}`);
};

/** Checks one property's value against its kind; a map's own properties are checked as they are written. */
function checkValue(kind: PropertyKind, value: unknown, path: string): void {
  switch (kind) {
    case 'counter':
      if (!Number.isSafeInteger(value))
        fail('TYPE_MISMATCH', path, `a counter takes integers, not ${show(value)}`);
      return;
    case 'text':
      if (typeof value !== 'string') fail('TYPE_MISMATCH', path, `text takes a string, not ${show(value)}`);
      return;
    case 'flag':
      if (typeof value !== 'boolean')
        fail('TYPE_MISMATCH', path, `a flag takes a boolean, not ${show(value)}`);
      return;
    case 'map':
      if (!isPlainObject(value)) fail('TYPE_MISMATCH', path, `a map takes an object, not ${show(value)}`);
      return;
    case 'list':
      if (!Array.isArray(value)) fail('TYPE_MISMATCH', path, `a list takes an array, not ${show(value)}`);
      for (const [i, e] of (value as unknown[]).entries()) {
        if (e instanceof Typed) {
          if (e.kind !== 'map') fail('TYPE_MISMATCH', `${path}.${i}`, 'list elements are JSON or map(...)');
          checkValue('map', e.value, `${path}.${i}`);
        } else checkJson(e, `${path}.${i}`);
      }
      return;
    case 'set':
      if (!Array.isArray(value)) fail('TYPE_MISMATCH', path, `a set takes an array, not ${show(value)}`);
      checkJson(value, path);
      return;
    case 'attachment':
      if (!isAttachmentRef(value))
        fail('TYPE_MISMATCH', path, 'an attachment takes the ref from db.attachments.put');
      return;
    case 'register':
      checkJson(value, path);
      return;
  }
}

export function checkJson(value: unknown, path: string): void {
  // Most values are scalars: spared the try that turns assertJson's error into ours.
  if (isJsonScalar(value)) return;
  try {
    // Registers hold JSON as it is; keys starting with $ inside are data, not operators.
    if (value instanceof Typed)
      fail('TYPE_MISMATCH', path, `${value.kind}(...) cannot nest inside a plain value`);
    assertJson(value);
  } catch (e) {
    if (e instanceof InvalidArgumentError) fail('NOT_JSON', path, e.message);
    throw e;
  }
}

function show(v: unknown): string {
  return typeof v === 'string' ? `the string ${JSON.stringify(v.slice(0, 40))}` : `${typeof v} ${String(v)}`;
}

/** Writes the properties of `input` into map `m`, pushing each delta; see Document.write. */
function writeMap(
  m: ORMap,
  input: Record<string, unknown>,
  prefix: string,
  ctx: WriteContext,
  mode: WriteMode,
  deltas: ORMap[],
  top: boolean,
): void {
  for (const [name, v] of Object.entries(input)) {
    const path = prefix + name;
    if (name.startsWith('$')) fail('RESERVED_KEY', path, 'names starting with $ are reserved');
    if (top && name === ID) continue;
    const kind = kindFor(m, name, v, path, ctx);
    const value = v instanceof Typed ? v.value : v;
    const type = TYPES[kind];
    // A property written as another type than it has: the old one goes, so the value is unambiguous.
    for (const tag of m.tags(name)) {
      const t = TYPE_OF_TAG.get(tag);
      if (t && t !== type) deltas.push(m.remove(name, t));
    }
    const d = writeProperty(m, name, kind, value, path, ctx, mode);
    if (d) deltas.push(d);
  }
  if (mode === 'replace') {
    for (const name of m.keys()) {
      if (!(top && name === ID) && !Object.hasOwn(input, name)) deltas.push(m.remove(name));
    }
  }
}

function writeProperty(
  m: ORMap,
  name: string,
  kind: PropertyKind,
  value: unknown,
  path: string,
  ctx: WriteContext,
  mode: WriteMode,
): ORMap | undefined {
  const { replica } = ctx;
  checkValue(kind, value, path);
  switch (kind) {
    case 'register':
    case 'attachment': {
      const cur = m.get(name, CausalRegister);
      if (cur && !ctx.blind && jsonKey(cur.value()!) === jsonKey(value as Json)) return undefined;
      return m.update(replica, name, CausalRegister, (r) => r.set(ctx.time, value as Json));
    }
    case 'counter': {
      const cur = m.get(name, PNCounter);
      const diff = (value as number) - (cur?.value() ?? 0);
      if (cur && diff === 0) return undefined;
      return m.update(replica, name, PNCounter, (c, as) => c.increment(as, diff));
    }
    case 'flag': {
      const cur = m.get(name, Flag);
      if (cur && !ctx.blind && cur.value() === value) return undefined;
      return m.update(replica, name, Flag, (f) => (value ? f.enable(replica) : f.disable()));
    }
    case 'set': {
      const want = new Map((value as Json[]).map((e) => [jsonKey(e), e]));
      const cur = m.get(name, ORSet);
      const have = new Set((cur?.value() ?? []).map(jsonKey));
      const adds = [...want].filter(([k]) => !have.has(k));
      const removes = (cur?.value() ?? []).filter((e) => !want.has(jsonKey(e)));
      if (cur && adds.length === 0 && removes.length === 0) return undefined;
      return m.update(replica, name, ORSet, (s) => {
        const ds: ORSet[] = [];
        for (const [, e] of adds) ds.push(s.add(replica, e));
        for (const e of removes) ds.push(s.remove(e));
        // A brand-new empty set holds no dot, so it stays absent until it has an element (as an
        // empty nested map does).
        return ds.reduce((a, b) => a.join(b), ORSet.empty());
      });
    }
    case 'map': {
      const nested = value as Record<string, unknown>;
      return m.update(replica, name, ORMap, (child) => {
        const ds: ORMap[] = [];
        writeMap(child, nested, `${path}.`, ctx, mode, ds, false);
        return joinAll(ds) ?? ORMap.empty();
      });
    }
    case 'text': {
      const cur = m.get(name, Text);
      const old = cur?.value() ?? '';
      if (cur && old === value) return undefined;
      return m.update(replica, name, Text, (t, as) => editText(t, old, value as string, as));
    }
    case 'list': {
      const cur = m.get(name, List);
      const items = value as unknown[];
      if (cur && sameList(cur, items)) return undefined;
      return m.update(replica, name, List, (l, as) => editList(l, items, as, ctx, mode, path));
    }
  }
}

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/** Rewrites `old` into `next` as one delete and one insert between their common prefix and suffix. */
function editText(t: Text, old: string, next: string, replica: ReplicaId): Text {
  let p = 0;
  const max = Math.min(old.length, next.length);
  while (p < max && old.charCodeAt(p) === next.charCodeAt(p)) p++;
  let s = 0;
  while (s < max - p && old.charCodeAt(old.length - 1 - s) === next.charCodeAt(next.length - 1 - s)) s++;
  // Never cut a surrogate pair: widen the edited range to whole characters.
  if (p > 0 && isHigh(old.charCodeAt(p - 1))) p--;
  if (s > 0 && isLow(old.charCodeAt(old.length - s))) s--;
  const del = old.length - p - s;
  if (del > 0) t.delete(replica, p, del);
  const ins = next.slice(p, next.length - s);
  if (ins.length > 0) t.insert(replica, p, ins);
  return t;
}

/** Elements compare by value: a row read back as a plain object equals the map it came from. */
function elementKey(e: unknown): string {
  return jsonKey((e instanceof Typed ? e.value : e) as Json);
}

function currentKey(e: unknown): string {
  return jsonKey((e instanceof ORMap ? e.value() : e) as Json);
}

function sameList(l: List, items: unknown[]): boolean {
  if (l.length !== items.length) return false;
  for (let i = 0; i < items.length; i++) if (currentKey(l.get(i)) !== elementKey(items[i])) return false;
  return true;
}

/**
 * Turns list `l` into `items`, its operations made as `replica` (the writer's run): keeps the
 * common prefix and suffix; where the middles have the same length, map elements are diffed in
 * place with `ctx`, as any map is (so a concurrent edit of another field of the row survives);
 * everything else in the middle is deleted and inserted.
 */
function editList(
  l: List,
  items: unknown[],
  replica: ReplicaId,
  ctx: WriteContext,
  mode: WriteMode,
  path: string,
): List {
  const n = l.length;
  let p = 0;
  while (p < Math.min(n, items.length) && currentKey(l.get(p)) === elementKey(items[p])) p++;
  let s = 0;
  while (
    s < Math.min(n, items.length) - p &&
    currentKey(l.get(n - 1 - s)) === elementKey(items[items.length - 1 - s])
  ) {
    s++;
  }
  const oldMid = n - p - s;
  const newMid = items.slice(p, items.length - s);
  if (oldMid === newMid.length && newMid.every((e, i) => l.get(p + i) instanceof ORMap && isMapInput(e))) {
    newMid.forEach((e, i) => {
      if (currentKey(l.get(p + i)) === elementKey(e)) return;
      const input = (e instanceof Typed ? e.value : e) as Record<string, unknown>;
      l.update(replica, p + i, ORMap, (m) => {
        const ds: ORMap[] = [];
        writeMap(m, input, `${path}.${p + i}.`, ctx, mode, ds, false);
        return joinAll(ds) ?? ORMap.empty();
      });
    });
    return l;
  }
  if (oldMid > 0) l.delete(replica, p, oldMid);
  if (newMid.length > 0) l.insert(replica, p, ...newMid.map((e) => toElement(e, ctx, path)));
  return l;
}

function isMapInput(e: unknown): boolean {
  return (e instanceof Typed && e.kind === 'map') || isPlainObject(e);
}

function toElement(e: unknown, ctx: WriteContext, path: string): Json | Crdt {
  if (!(e instanceof Typed)) return e as Json;
  const m = ORMap.empty();
  writeMap(m, e.value as Record<string, unknown>, `${path}.`, ctx, 'replace', [], false);
  return m;
}
