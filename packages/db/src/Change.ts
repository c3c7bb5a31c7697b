import {
  CRDT_TYPES,
  Decoder,
  type Dot,
  Encoder,
  FORMAT_VERSION,
  ORMap,
  readDot,
  readTimestamp,
  type Timestamp,
  writeDot,
  writeTimestamp,
} from '@concord/crdt';
import { deflateMessage, inflateMessage } from './Deflated.js';

/**
 * The unit that is stored and shipped (DESIGN.md): one transaction's operations on one
 * document. `dot` names it — the `seq`-th change of its replica — and `ops` is a delta of the
 * document's add-wins map, so applying a change twice, or changes in any order, gives one state.
 */
export interface Change {
  readonly dot: Dot;
  readonly hlc: Timestamp;
  readonly collection: string;
  readonly docId: string;
  readonly ops: ORMap;
}

/** Message kind of a batch of changes; CRDT tags are below 64, the crdt codec's kinds below 96. */
const CHANGES = 96;

/** Encodes changes as one message; a batch shares one replica table, so many small changes stay small. */
export function encodeChanges(changes: readonly Change[]): Uint8Array {
  const enc = new Encoder();
  enc.uint(changes.length);
  for (const c of changes) writeChange(enc, c);
  return deflateMessage(enc.finish(FORMAT_VERSION, CHANGES));
}

/** Writes one change into a message body (a batch, or a sync protocol message). */
export function writeChange(enc: Encoder, c: Change): void {
  writeDot(enc, c.dot);
  writeTimestamp(enc, c.hlc);
  enc.string(c.collection);
  enc.string(c.docId);
  c.ops.encodeTo(enc);
}

/** Reads what `writeChange` wrote. */
export function readChange(dec: Decoder): Change {
  const dot = readDot(dec);
  const hlc = readTimestamp(dec);
  const collection = dec.string();
  const docId = dec.string();
  if (collection.length === 0 || docId.length === 0) dec.fail('BAD_VALUE', 'empty collection or document id');
  return { dot, hlc, collection, docId, ops: ORMap.decodeFrom(dec) };
}

/** Decodes `encodeChanges`' output; throws `DecodeError` for anything malformed or hostile. */
export function decodeChanges(bytes: Uint8Array): Change[] {
  const dec = new Decoder(inflateMessage(bytes), CRDT_TYPES);
  const kind = dec.header(FORMAT_VERSION);
  if (kind !== CHANGES) dec.fail('BAD_TAG', `expected a change batch, got message kind ${kind}`);
  const n = dec.count(4);
  const out: Change[] = [];
  for (let i = 0; i < n; i++) out.push(readChange(dec));
  dec.end();
  return out;
}
