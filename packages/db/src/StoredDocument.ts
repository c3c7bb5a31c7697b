import { CRDT_TYPES, Decoder, Encoder, FORMAT_VERSION, ORMap } from '@concord/crdt';
import type { Doc } from './CollectionState.js';
import { Document } from './Document.js';

/** Message kind of a stored document's state; next to the change batch (96), snapshot (97) and deflated (98). */
const STORED_STATE = 99;

/**
 * A document as storage keeps it: its JSON — what reads need — and its CRDT state — what
 * writes and merges need. Reopening a database parses the JSON of every document and keeps the
 * CRDT encoded until a write or a merge touches that document (seed 000: a store's device
 * opens a 100,000-product catalogue to print labels, and most products are only read).
 *
 * Layout: `json:string  state:bytes`, the state being a codec message of its own. The JSON
 * comes first, outside any message, so reading it needs no replica table; it is empty for a
 * removed document, whose state still holds the causal context that keeps it removed.
 */
export function encodeStoredDocument(value: Doc | undefined, doc: Document): Uint8Array {
  const state = new Encoder();
  doc.state.encodeTo(state);
  const message = state.finish(FORMAT_VERSION, STORED_STATE);
  const enc = new Encoder();
  enc.string(value ? JSON.stringify(value) : '');
  enc.bytes(message);
  return enc.finishRaw();
}

/** The stored form of a document this replica does not have (a sync server's answer for one it lacks). */
export function absentStoredDocument(): Uint8Array {
  return encodeStoredDocument(undefined, new Document());
}

/** The JSON of a stored document (undefined when removed), without decoding its CRDT. */
export function storedValue(bytes: Uint8Array): Doc | undefined {
  const json = new Decoder(bytes).string();
  return json === '' ? undefined : (JSON.parse(json) as Doc);
}

/** The document's CRDT, decoded from its stored form. */
export function storedDocument(bytes: Uint8Array): Document {
  const skip = new Decoder(bytes);
  skip.bytes(skip.uint());
  const dec = new Decoder(skip.bytes(skip.remaining), CRDT_TYPES);
  const kind = dec.header(FORMAT_VERSION);
  if (kind !== STORED_STATE)
    dec.fail('BAD_TAG', `expected a stored document state, got message kind ${kind}`);
  const state = ORMap.decodeFrom(dec);
  dec.end();
  return new Document(state);
}
