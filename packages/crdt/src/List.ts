import { type Crdt, type CrdtType, typeOf } from './Crdt.js';
import type { Decoder } from './codec/Decoder.js';
import type { Encoder } from './codec/Encoder.js';
import { InvalidArgumentError } from './errors.js';
import { assertJson, deepFreeze, type Json, jsonKey, readJson, writeJson } from './Json.js';
import type { ReplicaId } from './ReplicaId.js';
import type { Content } from './sequence/Run.js';
import { applyDecoded, readRecords, writeRecords } from './sequence/recordCodec.js';
import type { SequenceRecord } from './sequence/records.js';
import { type Anchor, Sequence } from './sequence/Sequence.js';
import { sameSequence } from './sequence/sameSequence.js';
import { VersionVector } from './VersionVector.js';

/** A list element: a JSON value (immutable; replace it by deleting and inserting) or a nested CRDT. */
export type Element = Json | Crdt;

/** A catalogue state: an instance of a class with a wire tag. Anything else must be JSON. */
function isCrdt(e: unknown): e is Crdt {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e.constructor as { tag?: unknown }).tag === 'number' &&
    typeof (e as Partial<Crdt>).join === 'function'
  );
}

/** Copies the CRDTs (they change in place); JSON elements are frozen and shared. */
function cloneElement(e: Element): Element {
  return isCrdt(e) ? e.clone() : e;
}

const JSON_ELEMENT = 0;

const ELEMENTS: Content<Element[]> = {
  length: (a) => a.length,
  slice: (a, start, end) => a.slice(start, end),
  concat: (a, b) => a.concat(b),
  clone: (a) => a.map(cloneElement),
  update(a, offset, delta) {
    const e = a[offset];
    // A delta of another type than the element (a corrupt record) changes nothing, on every replica alike.
    if (isCrdt(e) && e.constructor === delta.constructor) e.join(delta);
  },
  write(enc, a) {
    enc.uint(a.length);
    for (const e of a) {
      if (isCrdt(e)) {
        enc.byte(typeOf(e).tag);
        e.encodeTo(enc);
      } else {
        enc.byte(JSON_ELEMENT);
        writeJson(enc, e);
      }
    }
  },
  read(dec) {
    const n = dec.count(2);
    if (n === 0) dec.fail('BAD_VALUE', 'empty list part');
    const out: Element[] = [];
    dec.enter();
    for (let i = 0; i < n; i++) {
      const tag = dec.byte();
      out.push(tag === JSON_ELEMENT ? deepFreeze(readJson(dec)) : dec.type(tag).decodeFrom(dec));
    }
    dec.leave();
    return out;
  },
};

/**
 * A replicated list (seed 001's ReplicatedGrowableArray) on the same engine as Text: concurrent
 * insertions never interleave, deletions are operations, `deltaSince(version)` is exact. An
 * element is a JSON value or a nested CRDT from the catalogue — a map, a counter, another list —
 * that is updated in place through `update`, its mutation's delta travelling as an element
 * update. Concurrent updates of one element merge by that element's own join; an update
 * concurrent with the element's deletion is lost with it (delete wins, as in Automerge).
 *
 * Nested CRDTs keep their own state: an ORMap element has its own causal context, independent of
 * the list's and of any map the list sits in.
 */
export class List implements Crdt<unknown[]> {
  static readonly tag = 13;
  static readonly typeName = 'List';
  static readonly causal = false;

  private constructor(private readonly seq = new Sequence(ELEMENTS)) {}

  static empty(): List {
    return new List();
  }

  get length(): number {
    return this.seq.length;
  }

  /** The element at `pos`: a JSON value (frozen) or a nested CRDT, to read — change it with `update`. */
  get(pos: number): Element {
    if (!(pos >= 0 && pos < this.length) || !Number.isInteger(pos)) {
      throw new InvalidArgumentError('BAD_POSITION', `get ${pos} of ${this.length}`);
    }
    const { run, offset } = this.seq.tree.findVisible(pos);
    return run.content![offset]!;
  }

  /** Inserts `items` at `pos` as `replica`; returns the delta. CRDT items are copied, JSON items frozen. */
  insert(replica: ReplicaId, pos: number, ...items: Element[]): List {
    if (items.length === 0) return new List();
    const copies = items.map((e) => {
      if (isCrdt(e)) return e.clone();
      assertJson(e);
      return deepFreeze(structuredClone(e));
    });
    return List.delta([this.seq.insert(replica, pos, copies)]);
  }

  /** Appends `items`; returns the delta. */
  push(replica: ReplicaId, ...items: Element[]): List {
    return this.insert(replica, this.length, ...items);
  }

  /** Deletes `len` elements from `pos` as `replica`; returns the delta. */
  delete(replica: ReplicaId, pos: number, len = 1): List {
    return List.delta(this.seq.delete(replica, pos, len));
  }

  /**
   * Mutates the nested CRDT at `pos`, which must be of `type`: `fn` gets the element itself,
   * calls its mutators and returns their delta (join several to return them as one), as with
   * `ORMap.update`. Returns the list's delta.
   */
  update<T extends Crdt>(replica: ReplicaId, pos: number, type: CrdtType<T>, fn: (element: T) => T): List {
    const record = this.seq.update(replica, pos, (items, offset) => {
      const e = items[offset];
      if (!isCrdt(e) || typeOf(e) !== type) {
        throw new InvalidArgumentError('TYPE_MISMATCH', `element ${pos} is not a ${type.typeName}`);
      }
      const delta = fn(e as T);
      if (!isCrdt(delta) || typeOf(delta) !== type) {
        throw new InvalidArgumentError('TYPE_MISMATCH', `update of ${type.typeName} must return its delta`);
      }
      return delta;
    });
    return List.delta([record]);
  }

  /** A position that stays attached to its element across concurrent edits: see `resolve`. */
  anchor(pos: number, assoc: 'before' | 'after' = 'after'): Anchor {
    return this.seq.anchor(pos, assoc);
  }

  resolve(anchor: Anchor): number {
    return this.seq.resolve(anchor);
  }

  /** Elements in order, nested CRDTs as their values. */
  value(): unknown[] {
    const out: unknown[] = [];
    for (const run of this.seq.tree) {
      if (run.content !== null) for (const e of run.content) out.push(isCrdt(e) ? e.value() : e);
    }
    return out;
  }

  version(): VersionVector {
    return this.seq.vv.clone();
  }

  deltaSince(version: VersionVector): List {
    return List.delta(this.seq.recordsSince(version));
  }

  join(other: List): this {
    // Collected first: integrating can split the runs the iterator walks.
    const records = [...other.seq.recordsSince(this.seq.vv)];
    for (const r of records) this.seq.apply(copyRecord(r));
    return this;
  }

  clone(): this {
    return new List(this.seq.clone()) as this;
  }

  equals(other: List): boolean {
    if (
      !this.seq.vv.equals(other.seq.vv) ||
      this.seq.pendingCount !== other.seq.pendingCount ||
      !sameSequence(this.seq.tree, other.seq.tree)
    ) {
      return false;
    }
    const mine = this.elements();
    const theirs = other.elements();
    return mine.every((e, i) => sameElement(e, theirs[i]!));
  }

  private elements(): Element[] {
    const out: Element[] = [];
    for (const run of this.seq.tree) if (run.content !== null) out.push(...run.content);
    return out;
  }

  encodeTo(enc: Encoder): void {
    writeRecords(enc, ELEMENTS, this.seq.recordsSince(new VersionVector()));
  }

  static decodeFrom(dec: Decoder): List {
    const list = new List();
    applyDecoded(dec, list.seq, readRecords(dec, ELEMENTS));
    return list;
  }

  /** A delta: a List holding copies of these records. */
  private static delta(records: Iterable<SequenceRecord<Element[]>>): List {
    const d = new List();
    for (const r of records) d.seq.apply(copyRecord(r));
    return d;
  }
}

/** Records handed to another list carry copies of their CRDT elements, so no two lists share one. */
function copyRecord(r: SequenceRecord<Element[]>): SequenceRecord<Element[]> {
  if (r.kind !== 'insert') return r;
  return { ...r, parts: r.parts.map((p) => (typeof p === 'number' ? p : ELEMENTS.clone(p))) };
}

function sameElement(a: Element, b: Element): boolean {
  if (isCrdt(a) || isCrdt(b)) {
    return isCrdt(a) && isCrdt(b) && a.constructor === b.constructor && a.equals(b as typeof a);
  }
  return jsonKey(a) === jsonKey(b);
}
