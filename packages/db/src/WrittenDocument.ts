import { type Dot, Encoder, FORMAT_VERSION, type Json, ORMap, type Timestamp } from '@concord/crdt';
import type { Change } from './Change.js';
import { type ChangeHead, writeChangeHead } from './ChangeHead.js';
import type { Doc } from './CollectionState.js';
import { checkJson, Document, fail, ID, type WriteContext } from './Document.js';
import { encodeStoredState } from './StoredDocument.js';
import { Typed } from './values.js';

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
    const value: Record<string, unknown> = {};
    for (const name of names) {
      const v = name === ID ? id : input[name];
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
    return new WrittenDocument(ctx.time, names, value as Doc);
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
   * Writes the stored form (as `encodeStoredDocument` writes it for `document()`) into `enc`:
   * the JSON, then the state beside it. Beside its JSON, the state holds no value — only names,
   * dots and the timestamp — so the documents of one shape a transaction writes share one state,
   * encoded once.
   */
  private writeStored(enc: Encoder): void {
    const { ts, names } = this;
    if (shared?.ts !== ts || shared.names !== names) {
      const state = encodeStoredState((e) => ORMap.encodeRegisters(e, ts, names, this.values(), true));
      shared = { ts, names, state };
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
    ORMap.encodeRegisters(enc, this.ts, this.names, this.values(), false);
  }
}

/**
 * The change that writes a new document whole. Its ops — the document's whole state, which is
 * also the delta of writing it — are made when first read; encoding it writes them without that.
 */
export class WrittenChange implements Change {
  private made: ORMap | undefined;
  /** The change as the log keeps it, and the document's stored form, its last bytes (`WrittenDocument.logEntry`). */
  readonly logged: Uint8Array;
  readonly stored: Uint8Array;

  constructor(
    readonly dot: Dot,
    readonly hlc: Timestamp,
    readonly collection: string,
    readonly docId: string,
    private readonly written: WrittenDocument,
  ) {
    ({ logged: this.logged, stored: this.stored } = written.logEntry(this));
  }

  get ops(): ORMap {
    this.made ??= this.written.document().state;
    return this.made;
  }

  /** Writes what `ops.encodeTo` writes, without making the ops. */
  encodeOps(enc: Encoder): void {
    this.written.encodeTo(enc);
  }
}

/**
 * Message kind of a logged change that writes a new document whole; next to the change batch
 * (111). Its ops are the state in the stored form, so the log holds every value once.
 */
export const LOGGED_WRITTEN = 112;

/** The last state `WrittenDocument.writeStored` encoded, and what it was for. */
let shared: { ts: Timestamp; names: readonly string[]; state: Uint8Array } | undefined;

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
