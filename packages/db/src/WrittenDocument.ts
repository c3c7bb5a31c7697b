import { type Dot, type Encoder, type Json, ORMap, type Timestamp } from '@concord/crdt';
import type { Change } from './Change.js';
import type { Doc } from './CollectionState.js';
import { checkJson, Document, fail, ID, type WriteContext } from './Document.js';
import { encodeStoredDocument } from './StoredDocument.js';
import { Typed } from './values.js';

/**
 * A document new to this replica, written whole with a register per property — a catalogue's
 * products, a feed's new rows. It is kept as what was written (the names in order, their values,
 * one timestamp) rather than as the add-wins map that describes: its JSON, its stored form and
 * its change are all written straight from it (`ORMap.encodeRegisters`), and the map is made
 * only if something asks for it (`document()`). A catalogue of 100,000 products is built
 * without 1.3 million register objects that would be garbage once it is stored.
 */
export class WrittenDocument {
  private constructor(
    private readonly ts: Timestamp,
    private readonly names: readonly string[],
    private readonly values: readonly Json[],
    /** The document's JSON, properties in name order as `Document.value` gives them. */
    readonly value: Doc,
  ) {}

  /**
   * The write of `input` as a new document `id`, checked as `Document.write` checks it (the
   * same errors); undefined, having checked nothing more, when a property is not a plain
   * register (a wrapper, or a kind the schema declares): `Document.write` writes those.
   */
  static of(id: string, input: Record<string, unknown>, ctx: WriteContext): WrittenDocument | undefined {
    const keys = Object.keys(input);
    for (const name of keys) {
      if (name.startsWith('$')) fail('RESERVED_KEY', name, 'names starting with $ are reserved');
      if (name === ID) continue;
      const v = input[name];
      if (v instanceof Typed || ctx.kindOf(name) !== undefined) return undefined;
      checkJson(v, name);
    }
    const names = namesInOrder(keys);
    const values = new Array<Json>(names.length);
    const value: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const v = (name === ID ? id : input[name]) as Json;
      values[i] = v;
      // A property named __proto__ is data: plain assignment would set the prototype instead.
      if (name === '__proto__')
        Object.defineProperty(value, name, {
          value: v,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else value[name] = v;
    }
    return new WrittenDocument(ctx.time, names, values, value as Doc);
  }

  /** The document's CRDT, made anew: the add-wins map of these registers. */
  document(): Document {
    const doc = new Document();
    doc.state.setRegisters(this.ts, this.names, this.values);
    return doc;
  }

  private storedForm: Uint8Array | undefined;

  /** The stored form, as `encodeStoredDocument` writes it for `document()` (written once). */
  stored(): Uint8Array {
    this.storedForm ??= encodeStoredDocument(this.value, this);
    return this.storedForm;
  }

  /** What `document().state.encodeBeside(enc, value)` writes. */
  encodeBeside(enc: Encoder): void {
    ORMap.encodeRegisters(enc, this.ts, this.names, this.values, true);
  }

  /** What `document().state.encodeTo(enc)` writes. */
  encodeTo(enc: Encoder): void {
    ORMap.encodeRegisters(enc, this.ts, this.names, this.values, false);
  }
}

/**
 * The change that writes a new document whole. Its ops — the document's whole state, which is
 * also the delta of writing it — are made when first read; encoding it writes them without that.
 */
export class WrittenChange implements Change {
  private made: ORMap | undefined;

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

  encodeOps(enc: Encoder): void {
    this.written.encodeTo(enc);
  }

  /** The written document's stored form, which holds these ops (see `encodeLogged`). */
  get stored(): Uint8Array {
    return this.written.stored();
  }
}

/** The key list `namesInOrder` sorted last, and its result: a feed's documents share one shape, so most skip the sort. */
let lastKeys: readonly string[] = [];
let lastNames: readonly string[] = [ID];

/** A new document's property names and `_id`, in code-unit order. */
function namesInOrder(keys: readonly string[]): readonly string[] {
  let same = keys.length === lastKeys.length;
  for (let i = 0; same && i < keys.length; i++) same = keys[i] === lastKeys[i];
  if (!same) {
    lastNames = (keys.includes(ID) ? [...keys] : [...keys, ID]).sort();
    lastKeys = keys;
  }
  return lastNames;
}
