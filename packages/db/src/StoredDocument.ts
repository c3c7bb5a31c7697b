import { CRDT_TYPES, DecodeError, Decoder, Encoder, FORMAT_VERSION, ORMap } from '@concord/crdt';
import type { Doc } from './CollectionState.js';
import { Document } from './Document.js';

/** Message kind of a stored document's state; next to the change batch (96), snapshot (97) and deflated (98). */
const STORED_STATE = 99;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * A document as storage keeps it: its JSON — what reads need — and its CRDT state — what
 * writes and merges need. Reopening a database parses the JSON of every document and keeps the
 * CRDT encoded until a write or a merge touches that document (seed 000: a store's device
 * opens a 100,000-product catalogue to print labels, and most products are only read).
 *
 * Layout: `jsonLength:varint  json:utf8  state:message`, the JSON first so that reading it
 * needs no codec header; it is empty for a removed document, whose state still holds the
 * causal context that keeps it removed.
 */
export function encodeStoredDocument(value: Doc | undefined, doc: Document): Uint8Array {
  const json = value ? utf8.encode(JSON.stringify(value)) : new Uint8Array(0);
  const enc = new Encoder();
  doc.state.encodeTo(enc);
  const state = enc.finish(FORMAT_VERSION, STORED_STATE);
  const prefix: number[] = [];
  // The JSON's length as unsigned LEB128, as the codec writes counts.
  for (let n = json.length; ; n = Math.floor(n / 0x80)) {
    prefix.push(n < 0x80 ? n : (n % 0x80) | 0x80);
    if (n < 0x80) break;
  }
  const out = new Uint8Array(prefix.length + json.length + state.length);
  out.set(prefix);
  out.set(json, prefix.length);
  out.set(state, prefix.length + json.length);
  return out;
}

/** The JSON of a stored document (undefined when removed), without decoding its CRDT. */
export function storedValue(bytes: Uint8Array): Doc | undefined {
  const [length, at] = readLength(bytes);
  if (length === 0) return undefined;
  if (at + length > bytes.length) throw new DecodeError('BAD_LENGTH', 'stored JSON beyond the bytes', at);
  return JSON.parse(utf8Decoder.decode(bytes.subarray(at, at + length))) as Doc;
}

/** The JSON's length and where the JSON starts (a few bytes read directly: a Decoder per document would cost more). */
function readLength(bytes: Uint8Array): [number, number] {
  let n = 0;
  for (let i = 0, scale = 1; i < 5 && i < bytes.length; i++, scale *= 0x80) {
    const b = bytes[i]!;
    n += (b & 0x7f) * scale;
    if (b < 0x80) return [n, i + 1];
  }
  throw new DecodeError('BAD_LENGTH', 'stored JSON length unreadable', 0);
}

/** The document's CRDT, decoded from its stored form. */
export function storedDocument(bytes: Uint8Array): Document {
  const [length, at] = readLength(bytes);
  const dec = new Decoder(bytes.subarray(at + length), CRDT_TYPES);
  const kind = dec.header(FORMAT_VERSION);
  if (kind !== STORED_STATE)
    dec.fail('BAD_TAG', `expected a stored document state, got message kind ${kind}`);
  const state = ORMap.decodeFrom(dec);
  dec.end();
  return new Document(state);
}
