import { CRDT_TYPES, Decoder, Encoder, FORMAT_VERSION, ORMap } from '@concord/crdt';
import type { Doc } from './CollectionState.js';
import { Document } from './Document.js';

/** Message kind of a stored document's state; next to the snapshot (97) and deflated (98). */
const STORED_STATE = 99;

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
  doc.state.encodeBeside(enc, value ?? {});
  return enc.finish(FORMAT_VERSION, STORED_STATE);
}

/** The stored form of a document this replica does not have (a sync server's answer for one it lacks). */
export function absentStoredDocument(): Uint8Array {
  return encodeStoredDocument(undefined, new Document());
}

/**
 * A stored form cut in two: its JSON (as written, length first) and its CRDT state. A snapshot
 * chunk sends every document's JSON, then every state: deflate then finds the JSON's
 * repetitions in a run of JSON and the metadata's in a run of metadata (a third fewer bytes than
 * the stored forms one after another).
 */
export function splitStored(bytes: Uint8Array): [json: Uint8Array, state: Uint8Array] {
  const dec = new Decoder(bytes);
  const length = dec.uint();
  const end = bytes.length - dec.remaining + length;
  if (end > bytes.length) dec.fail('TRUNCATED', 'stored JSON beyond the end');
  return [bytes.subarray(0, end), bytes.subarray(end)];
}

export function joinStored(json: Uint8Array, state: Uint8Array): Uint8Array {
  const out = new Uint8Array(json.length + state.length);
  out.set(json);
  out.set(state, json.length);
  return out;
}

/** The JSON of a stored document (undefined when removed), without decoding its CRDT. */
export function storedValue(bytes: Uint8Array): Doc | undefined {
  const json = new Decoder(bytes).string();
  return json === '' ? undefined : (JSON.parse(json) as Doc);
}

/** The document's CRDT, decoded from its stored form. */
export function storedDocument(bytes: Uint8Array): Document {
  const outer = new Decoder(bytes);
  const json = outer.string();
  const dec = new Decoder(outer.bytes(outer.remaining), CRDT_TYPES);
  const kind = dec.header(FORMAT_VERSION);
  if (kind !== STORED_STATE)
    dec.fail('BAD_TAG', `expected a stored document state, got message kind ${kind}`);
  const state = ORMap.decodeBeside(dec, json === '' ? {} : (JSON.parse(json) as Doc));
  dec.end();
  return new Document(state);
}
