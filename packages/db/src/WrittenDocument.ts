import { type Dot, FORMAT_VERSION, type Json, ORMap, type ReplicaId, type Timestamp } from '@concord/crdt';
import { Encoder } from '@concord/crdt/internal';
import type { Change } from './Change.js';
import { type ChangeHead, writeChangeHead } from './ChangeHead.js';
import type { Doc } from './CollectionState.js';
import { checkJson, Document, fail, ID, type WriteContext } from './Document.js';
import { MESSAGE_KINDS } from './messageKinds.js';
import { encodeWrittenState } from './StoredDocument.js';
import type { StoredChange, StoredDoc } from './storage/Storage.js';
import { type PropertyKind, Typed } from './values.js';

/**
 * A document new to this replica, written whole with a register per property — a catalogue's
 * products, a feed's new rows. It is kept as what was written (its JSON, the names in order,
 * one timestamp) rather than as the add-wins map that describes: its JSON, its stored form and
 * its change are all written straight from it (`ORMap.encodeRegisters`), and the map is made
 * only if something asks for it (`document()`). A catalogue of 100,000 products is built
 * without 1.3 million register objects that would be garbage once it is stored.
 */
export class WrittenDocument {
  private constructor(
    private readonly ts: Timestamp,
    private readonly names: readonly string[],
    /** The document's JSON, properties in name order as `Document.value` gives them. */
    readonly value: Doc,
    private readonly shapes: WrittenShapes,
  ) {}

  /**
   * The write of `input` as a new document `id`, checked as `Document.write` checks it (the
   * same errors); undefined, having checked nothing more, when a property is not a plain
   * register (a wrapper, or a kind the schema declares) or `input` is not a plain object:
   * `Document.write` writes those.
   */
  static of(
    id: string,
    input: Record<string, unknown>,
    ctx: WriteContext,
    shapes: WrittenShapes,
  ): WrittenDocument | undefined {
    const proto = Object.getPrototypeOf(input);
    if (proto !== Object.prototype && proto !== null) return undefined;
    // A feed's documents share a shape: one pass over a document's keys checks its values and
    // whether it has the shape met last, whose names are checked and sorted already.
    let shape = shapes.shape?.kinds === ctx.kinds ? shapes.shape : undefined;
    let i = 0;
    for (const name in input) {
      if (shape !== undefined && shape.keys[i] !== name) shape = undefined;
      i++;
      const v = input[name];
      if (v instanceof Typed) return undefined;
      checkJson(v, name);
    }
    if (shape === undefined || i !== shape.keys.length) {
      shape = Shape.of(Object.keys(input), ctx.kinds);
      if (!shape) return undefined;
      shapes.shape = shape;
    }
    return new WrittenDocument(ctx.time, shape.names, copyInOrder(id, input, shape.names), shapes);
  }

  /** The value of each name, in order (the JSON holds them; most documents never need the list). */
  private values(): Json[] {
    return this.names.map((name) => this.value[name] as Json);
  }

  /** The document's CRDT, made anew: the add-wins map of these registers. */
  document(): Document {
    const doc = new Document();
    doc.state.setRegisters(this.ts, this.names, this.values());
    return doc;
  }

  /**
   * Writes the stored form of `document()` into `enc`: the JSON, then the state beside it, which
   * is the write's timestamp and the number of names alone (`encodeWrittenState`) — so the
   * documents of one shape a transaction writes share one state, encoded once.
   */
  private writeStored(enc: Encoder): void {
    const { ts, names } = this;
    let shared = this.shapes.state;
    if (shared?.ts !== ts || shared.names !== names) {
      const state = encodeWrittenState(ts, names.length);
      shared = { ts, names, state };
      this.shapes.state = shared;
    }
    enc.string(JSON.stringify(this.value));
    enc.bytes(shared.state);
  }

  /**
   * The change that writes this document as the log keeps it — its head (as in a change batch),
   * then the stored form, which holds its ops as the state beside the JSON (message
   * kind `LOGGED_WRITTEN`, read by `decodeLogged`) — and the stored form, which is the entry's
   * last bytes: one encoding and one buffer for both.
   */
  logEntry(c: ChangeHead): { logged: Uint8Array; stored: Uint8Array } {
    const enc = new Encoder();
    writeChangeHead(enc, c, 0);
    const start = enc.length;
    this.writeStored(enc);
    const length = enc.length - start;
    const logged = enc.finish(FORMAT_VERSION, LOGGED_WRITTEN);
    return { logged, stored: logged.subarray(logged.length - length) };
  }

  /** What `document().state.encodeTo(enc)` writes. */
  encodeTo(enc: Encoder): void {
    ORMap.encodeRegisters(enc, this.ts, this.names, this.values());
  }
}

/**
 * The change that writes a new document whole. Its ops — the document's whole state, which is
 * also the delta of writing it — are made when first read; encoding it writes them without that.
 *
 * It is also what a commit hands storage for that document: its log entry (`StoredChange`) and
 * its state (`StoredDoc`), one buffer whose last bytes are the state. Both are encoded when first
 * read — storage that writes them elsewhere reads them as it commits; memory storage, and the
 * collection's state, keep this object until something asks for bytes (a snapshot, a sync, a
 * reopen), so building a catalogue in memory serialises nothing.
 */
export class WrittenChange implements Change, StoredChange, StoredDoc {
  private made: ORMap | undefined;
  private entry: { logged: Uint8Array; stored: Uint8Array } | undefined;

  constructor(
    readonly dot: Dot,
    readonly hlc: Timestamp,
    readonly collection: string,
    readonly docId: string,
    private readonly written: WrittenDocument,
  ) {}

  get ops(): ORMap {
    this.made ??= this.written.document().state;
    return this.made;
  }

  /** The document's CRDT, made anew (`ops` is the change's: not to be changed). */
  document(): Document {
    return this.written.document();
  }

  /** Writes what `ops.encodeTo` writes, without making the ops. */
  encodeOps(enc: Encoder): void {
    this.written.encodeTo(enc);
  }

  /** The change as the log keeps it (`StoredChange.bytes`). */
  get bytes(): Uint8Array {
    this.entry ??= this.written.logEntry(this);
    return this.entry.logged;
  }

  /** The document's stored form (`StoredDoc.state`): the log entry's last bytes. */
  get state(): Uint8Array {
    this.entry ??= this.written.logEntry(this);
    return this.entry.stored;
  }

  get replica(): ReplicaId {
    return this.dot.replica;
  }

  get seq(): number {
    return this.dot.seq;
  }

  get id(): string {
    return this.docId;
  }
}

/** A logged change that writes a new document whole: its ops are the stored form's state, so the log holds every value once. */
export const LOGGED_WRITTEN = MESSAGE_KINDS.loggedWritten;

/**
 * What the documents written whole into one collection share — kept per collection, not per
 * process: the shape met last (its names checked and sorted), and the last state encoded beside
 * the JSON, which the documents of one shape and one transaction share.
 */
export class WrittenShapes {
  shape: Shape | undefined;
  state: { ts: Timestamp; names: readonly string[]; state: Uint8Array } | undefined;
}

/**
 * The property names of a feed's documents: their keys as given, and the names (with `_id`) in
 * code-unit order — the order of a document's JSON. Checked once per shape and schema: no name
 * is reserved, none has a kind in `kinds` (the collection's schema; held, not the collection,
 * which a closed database must not leave behind).
 */
class Shape {
  private constructor(
    readonly keys: readonly string[],
    readonly names: readonly string[],
    readonly kinds: ReadonlyMap<string, PropertyKind>,
  ) {}

  /** The shape of `keys`; undefined if a name has a declared kind (a register is not what it is). */
  static of(keys: readonly string[], kinds: ReadonlyMap<string, PropertyKind>): Shape | undefined {
    for (const name of keys) {
      if (name.startsWith('$')) fail('RESERVED_KEY', name, 'names starting with $ are reserved');
      if (name !== ID && kinds.has(name)) return undefined;
    }
    return new Shape(keys, (keys.includes(ID) ? [...keys] : [...keys, ID]).sort(), kinds);
  }
}

/** `input`'s values under `names` (its keys and `_id`), in that order, `_id` being `id`. */
function copyInOrder(id: string, input: Record<string, unknown>, names: readonly string[]): Doc {
  const value: Record<string, unknown> = {};
  for (const name of names) {
    const v = name === ID ? id : input[name];
    // A property named __proto__ is data: plain assignment would set the prototype instead.
    if (name === '__proto__')
      Object.defineProperty(value, name, { value: v, enumerable: true, writable: true, configurable: true });
    else value[name] = v;
  }
  return value as Doc;
}
