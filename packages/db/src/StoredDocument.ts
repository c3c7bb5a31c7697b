import { FORMAT_VERSION, ORMap, type Timestamp } from '@concord/crdt';
import {
  CRDT_TYPES,
  Decoder,
  Encoder,
  type Interner,
  readTimestamp,
  uintWidth,
  writeTimestamp,
  writeUint,
} from '@concord/crdt/internal';
import type { Doc } from './CollectionState.js';
import { Document } from './Document.js';
import { MESSAGE_KINDS } from './messageKinds.js';

const STORED_STATE = MESSAGE_KINDS.storedState;
const STORED_WRITTEN = MESSAGE_KINDS.storedWritten;

/**
 * A document as storage keeps it: its JSON — what reads need — and its CRDT state — what
 * writes and merges need. Reopening a database parses the JSON of every document and keeps the
 * CRDT encoded until a write or a merge touches that document (seed 000: a store's device
 * opens a 100,000-product catalogue to print labels, and most products are only read).
 *
 * Layout: `json:string  state:bytes`, the state being a codec message of its own. The JSON
 * comes first, outside any message, so reading it needs no replica table; it is empty for a
 * removed document, whose state still holds the causal context that keeps it removed. The state
 * refers to the JSON for the values it shares with it (`ORMap.encodeBeside`): each value is
 * stored once, and the metadata left — dots and timestamps, regular from one document to the
 * next — is what deflate takes to almost nothing when a snapshot streams documents.
 */
export function encodeStoredDocument(value: Doc | undefined, doc: Document): Uint8Array {
  const enc = new Encoder();
  enc.string(value ? JSON.stringify(value) : '');
  enc.startMessage();
  // A document as one write made it is stored as `encodeWrittenState` stores it, however it
  // came here: equal states, equal stored forms (a snapshot's documents that a replica holds
  // already are told by their bytes).
  const written = value && doc.state.writtenAt(value);
  if (written) {
    writeWrittenState(enc, written, doc.state.size);
    return enc.finish(FORMAT_VERSION, STORED_WRITTEN);
  }
  doc.state.encodeBeside(enc, value ?? {});
  return enc.finish(FORMAT_VERSION, STORED_STATE);
}

/**
 * The state part of a stored form beside the JSON of a document written whole by one write (a
 * register per property, `WrittenDocument`: a catalogue's products, a feed's new rows). Its
 * state is what `ORMap.setRegisters(ts, names, values)` makes from the JSON's names in
 * code-unit order and their values, so it is stored as the write's timestamp and the number of
 * names alone (message kind `storedWritten`), which `storedDocument` makes that state from: a
 * product of the retail catalogue (15 properties) takes 27 bytes so, 237 as a name, dot and
 * timestamp per property. Every stored form of a snapshot, a log entry and a database file
 * carries it, and a browser inflates all of them: the inflated bytes of a 100,000-product
 * initial sync went 52 → 31 MB.
 */
export function encodeWrittenState(ts: Timestamp, count: number): Uint8Array {
  const enc = new Encoder();
  writeWrittenState(enc, ts, count);
  return enc.finish(FORMAT_VERSION, STORED_WRITTEN);
}

function writeWrittenState(enc: Encoder, ts: Timestamp, count: number): void {
  writeTimestamp(enc, ts);
  enc.uint(count);
}

/** The stored form of a document this replica does not have (a sync server's answer for one it lacks). */
export function absentStoredDocument(): Uint8Array {
  return encodeStoredDocument(undefined, new Document());
}

/** A stored form cut in two: its JSON's UTF-8 and its CRDT state (`joinStored` puts them back). */
export function splitStored(bytes: Uint8Array): [json: Uint8Array, state: Uint8Array] {
  const dec = new Decoder(bytes);
  const length = dec.uint();
  const start = bytes.length - dec.remaining;
  const end = start + length;
  if (end > bytes.length) dec.fail('TRUNCATED', 'stored JSON beyond the end');
  return [bytes.subarray(start, end), bytes.subarray(end)];
}

/** The stored form of a document's JSON (UTF-8) and CRDT state. */
export function joinStored(json: Uint8Array, state: Uint8Array): Uint8Array {
  const out = new Uint8Array(storedLength(json, state));
  putStored(out, 0, json, state);
  return out;
}

/** How many bytes the stored form of `json` and `state` takes. */
function storedLength(json: Uint8Array, state: Uint8Array): number {
  return uintWidth(json.length) + json.length + state.length;
}

/**
 * Writes the stored form of `json` and `state` into `out` at `at` (room for `storedLength`);
 * returns where it ends. No Encoder: one per document (every document of a snapshot or a
 * deferred load) costs about as much as the copy.
 */
function putStored(out: Uint8Array, at: number, json: Uint8Array, state: Uint8Array): number {
  const start = writeUint(out, at, json.length);
  out.set(json, start);
  out.set(state, start + json.length);
  return start + json.length + state.length;
}

/**
 * Writes stored forms one after another, each after its length. A sync chunk sends them so: the
 * receiver keeps each as a view of the message, with no copy, and deflate finds each document's
 * metadata repeated from the one before it: the 100,000-product initial sync takes 2.51 MB so,
 * 2.60 MB as two columns, every JSON then every state (sync/100k in bench/RESULTS.md).
 */
export function writeStoredForms(enc: Encoder, docs: readonly Uint8Array[]): void {
  let size = 0;
  for (const d of docs) size += uintWidth(d.length) + d.length;
  enc.reserve(size);
  for (const d of docs) {
    enc.uint(d.length);
    enc.bytes(d);
  }
}

/**
 * Reads `n` stored forms `writeStoredForms` wrote — views of the decoder's bytes — and their JSON
 * parsed in one go (`parseJsons`; undefined for a removed document). A `DecodeError` for a form
 * whose JSON runs past its end, or a JSON that is not a document's.
 */
export function readStoredDocuments(
  dec: Decoder,
  n: number,
): { stored: Uint8Array[]; values: Array<Doc | undefined> } {
  const jsons: Uint8Array[] = [];
  const stored = readStoredForms(dec, n, jsons);
  return { stored, values: parseJsons(jsons, dec) };
}

/**
 * Reads `n` stored forms `writeStoredForms` wrote: views of the decoder's bytes; each one's JSON
 * (a view, empty for a removed document) pushed to `jsons` if given, read on the same pass — a
 * stored form is its JSON's length, the JSON, then the state.
 */
export function readStoredForms(dec: Decoder, n: number, jsons?: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const length = dec.uint();
    const before = dec.remaining;
    const json = dec.bytes(dec.uint());
    const read = before - dec.remaining;
    if (read > length) dec.fail('TRUNCATED', 'stored JSON beyond the end of its stored form');
    dec.skip(length - read);
    out.push(new Uint8Array(json.buffer, json.byteOffset + json.length - read, length));
    jsons?.push(json);
  }
  return out;
}

/**
 * Reads `n` stored forms written as two columns — every document's JSON, then every state, as
 * snapshots were before their stored forms went one after another (`writeStoredForms`) — and
 * their JSON parsed (undefined for a removed document). A `DecodeError` for a JSON that is not
 * a document's.
 */
export function readStoredColumns(
  dec: Decoder,
  n: number,
): { stored: Uint8Array[]; values: Array<Doc | undefined> } {
  const { jsons, states } = readColumns(dec, n);
  const values = parseJsons(jsons, dec);
  return { stored: joinColumns(jsons, states), values };
}

/** Reads the columns of `n` stored forms (`readStoredColumns`): each one's JSON and state, apart. */
function readColumns(dec: Decoder, n: number): { jsons: Uint8Array[]; states: Uint8Array[] } {
  const jsons: Uint8Array[] = [];
  for (let i = 0; i < n; i++) jsons.push(dec.bytes(dec.uint()));
  const states: Uint8Array[] = [];
  for (let i = 0; i < n; i++) states.push(dec.bytes(dec.uint()));
  return { jsons, states };
}

/**
 * The stored forms of `jsons` and `states` put back together in one buffer, each a view of it:
 * a buffer per document (a snapshot holds every document) costs more than the copying.
 */
function joinColumns(jsons: readonly Uint8Array[], states: readonly Uint8Array[]): Uint8Array[] {
  let size = 0;
  for (let i = 0; i < jsons.length; i++) size += storedLength(jsons[i]!, states[i]!);
  const all = new Uint8Array(size);
  const stored: Uint8Array[] = [];
  for (let i = 0, at = 0; i < jsons.length; i++) {
    const start = at;
    at = putStored(all, at, jsons[i]!, states[i]!);
    stored.push(all.subarray(start, at));
  }
  return stored;
}

/**
 * The JSON of a stored document (undefined when removed), without decoding its CRDT; a
 * `DecodeError` if it is not a document's JSON, or (given `id`) not that document's.
 */
export function storedValue(bytes: Uint8Array, id?: string): Doc | undefined {
  const dec = new Decoder(bytes);
  const value = parseJson(dec.bytes(dec.uint()), dec);
  if (id !== undefined) checkValueId(dec, value, id);
  return value;
}

/** A `DecodeError` (from `dec`) if `value`, a stored document's JSON, is not document `id`'s. */
export function checkValueId(dec: Decoder, value: Doc | undefined, id: string): void {
  if (value && value._id !== id) dec.fail('BAD_VALUE', `a stored document of ${value._id}, not ${id}`);
}

/**
 * Many documents' JSON texts (UTF-8; empty for a removed document) parsed at once: joined into
 * one array's text, decoded and parsed in one go. A snapshot's chunk holds thousands of
 * documents; decoding and parsing each apart took a quarter of a 100,000-product initial sync
 * in Chromium (profiled). On any fault each is parsed apart, to name the one at fault.
 */
function parseJsons(jsons: readonly Uint8Array[], dec: Decoder): Array<Doc | undefined> {
  return parseJsonArray(jsons) ?? jsons.map((j) => parseJson(j, dec));
}

/** `parseJsons` in one go; undefined if anything is amiss (then each is parsed apart). */
function parseJsonArray(jsons: readonly Uint8Array[]): Array<Doc | undefined> | undefined {
  let docs: Array<Doc | null>;
  try {
    docs = JSON.parse(jsonArrayText(jsons.map((j) => (j.length === 0 ? NULL : j))));
  } catch {
    return undefined;
  }
  // A JSON that is more than one value (or less) shifts the array. (Two broken ones could still
  // join into the right count; only a sender writing them on purpose makes such a pair, and its
  // documents are taken from it anyway.)
  if (docs.length !== jsons.length) return undefined;
  // A removed document's null is one the array put there; a document's JSON that is `null` is a fault.
  for (let i = 0; i < docs.length; i++)
    if (docs[i] === null ? jsons[i]!.length > 0 : !isDoc(docs[i])) return undefined;
  return docs.map((d) => d ?? undefined);
}

function parseJson(json: Uint8Array, dec: Decoder): Doc | undefined {
  if (json.length === 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(STRICT_UTF8.decode(json));
  } catch {
    // A SyntaxError names no code: reported below as the bad value it is.
  }
  if (!isDoc(value)) dec.fail('BAD_VALUE', 'a stored document whose JSON is not a document');
  return value;
}

function isDoc(value: unknown): value is Doc {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Doc)._id === 'string' &&
    (value as Doc)._id !== ''
  );
}

const NULL = new TextEncoder().encode('null');
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Where `jsonArrayText` joins texts, kept from one call to the next (up to `SCRATCH_MAX`): a
 * snapshot's chunk joins megabytes, and on the bench machine a fresh buffer costs more than the
 * copy into it — joining and decoding a 100,000-product catalogue's JSON in 13 chunks in
 * Chromium took 183–201 ms with a fresh buffer each, 93–105 ms with this one. The decoded string
 * never refers to it.
 */
let scratch = new Uint8Array(0);
const SCRATCH_MAX = 16 * 1024 * 1024;

/** The text of a JSON array of `jsons` (each a JSON text in UTF-8): their bytes joined, then decoded once. */
export function jsonArrayText(jsons: readonly Uint8Array[]): string {
  if (jsons.length === 0) return '[]';
  let size = jsons.length + 1;
  for (const j of jsons) size += j.length;
  if (scratch.length < size && size <= SCRATCH_MAX) scratch = new Uint8Array(size + (size >> 3));
  const out = size <= scratch.length ? scratch : new Uint8Array(size);
  out[0] = 0x5b; // [
  let at = 1;
  for (const j of jsons) {
    out.set(j, at);
    at += j.length;
    out[at++] = 0x2c; // ,
  }
  out[size - 1] = 0x5d; // ] over the last comma
  return STRICT_UTF8.decode(out.subarray(0, size));
}

/**
 * The document's CRDT, decoded from its stored form; `value` is its JSON when the caller has it
 * parsed already (`storedValue` of the same bytes); `interner`, its database's.
 */
export function storedDocument(bytes: Uint8Array, value?: Doc, interner?: Interner): Document {
  const outer = new Decoder(bytes);
  let beside: Readonly<Record<string, unknown>>;
  if (value) {
    outer.bytes(outer.uint());
    beside = value;
  } else {
    const json = outer.string();
    beside = json === '' ? {} : (JSON.parse(json) as Doc);
  }
  const dec = new Decoder(outer.bytes(outer.remaining), CRDT_TYPES, interner);
  const kind = dec.header(FORMAT_VERSION);
  if (kind === STORED_WRITTEN) return writtenDocument(dec, beside);
  if (kind !== STORED_STATE)
    dec.fail('BAD_TAG', `expected a stored document state, got message kind ${kind}`);
  const state = ORMap.decodeBeside(dec, beside);
  dec.end();
  return new Document(state);
}

/** The document `encodeWrittenState` stored beside `beside`: a register per name, written at its timestamp. */
function writtenDocument(dec: Decoder, beside: Readonly<Record<string, unknown>>): Document {
  const ts = readTimestamp(dec);
  const count = dec.uint();
  dec.end();
  const names = Object.keys(beside).length;
  if (names !== count)
    dec.fail('BAD_VALUE', `a state written over ${count} properties beside a JSON of ${names}`);
  try {
    return new Document(ORMap.writtenBeside(ts, beside));
  } catch (e) {
    return dec.fail('BAD_VALUE', (e as Error).message);
  }
}

/**
 * Checks stored forms by decoding them as `storedDocument` does (a `DecodeError` for a bad one)
 * and gives the decoded CRDT — except for a state byte for byte like the last one checked,
 * beside a JSON holding every name that state has: decoding it again would give the same verdict,
 * which depends on nothing else. A catalogue built in one transaction stores one state beside
 * every product (WrittenDocument), so checking a snapshot of it decodes that state once.
 */
export class StoredCheck {
  private last: { state: Uint8Array; names: readonly string[] } | undefined;

  constructor(private readonly interner: Interner) {}

  /** The decoded CRDT, or undefined when the state was checked already (decode it if you need it). */
  check(stored: Uint8Array, value: Doc | undefined): Document | undefined {
    const last = this.last;
    if (last && hasState(stored, last.state) && holdsAll(value ?? {}, last.names)) return undefined;
    const doc = storedDocument(stored, value, this.interner);
    this.last = { state: splitStored(stored)[1], names: doc.state.keys() };
    return doc;
  }
}

/**
 * Whether the stored form's state is `state`, byte for byte, compared in place (`splitStored`'s
 * views, per document of a snapshot, would cost more than the comparison).
 */
function hasState(stored: Uint8Array, state: Uint8Array): boolean {
  const dec = new Decoder(stored);
  const json = dec.uint();
  const start = stored.length - dec.remaining + json;
  if (stored.length - start !== state.length) return false;
  for (let i = 0; i < state.length; i++) if (stored[start + i] !== state[i]) return false;
  return true;
}

function holdsAll(value: Readonly<Record<string, unknown>>, names: readonly string[]): boolean {
  for (const name of names) if (!Object.hasOwn(value, name)) return false;
  return true;
}
