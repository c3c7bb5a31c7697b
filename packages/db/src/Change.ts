import {
  CRDT_TYPES,
  DecodeError,
  Decoder,
  type Dot,
  Encoder,
  FORMAT_VERSION,
  ORMap,
  type ReplicaId,
  readTimestamp,
  type Timestamp,
  writeTimestamp,
} from '@concord/crdt';
import { deflateMessage, inflateMessage } from './Deflated.js';
import { storedDocument, storedValue } from './StoredDocument.js';
import { LOGGED_WRITTEN, WrittenChange } from './WrittenDocument.js';

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
  /** Writes what `ops.encodeTo` writes, for a change that can without making its ops (`WrittenChange`). */
  encodeOps?(enc: Encoder): void;
}

/**
 * Message kind of a batch of changes; CRDT tags are below 64, the crdt codec's kinds below 96,
 * the database's 96–99, the sync protocol's 100–110. (96 was the batch before sequence numbers
 * were delta-coded.)
 */
const CHANGES = 111;

/** Encodes changes as one message; a batch shares one replica table, so many small changes stay small. */
export function encodeChanges(changes: readonly Change[]): Uint8Array {
  const enc = new Encoder();
  writeChanges(enc, changes);
  return deflateMessage(enc.finish(FORMAT_VERSION, CHANGES));
}

/**
 * Writes changes into a message body (a batch, or a sync protocol message). Each change's
 * sequence number is written as its difference from the previous change of the same replica:
 * a log's changes are consecutive, so one byte where a number past a million takes three.
 */
export function writeChanges(enc: Encoder, changes: readonly Change[]): void {
  enc.uint(changes.length);
  const last = new Map<ReplicaId, number>();
  for (const c of changes) {
    enc.replica(c.dot.replica);
    enc.int(c.dot.seq - (last.get(c.dot.replica) ?? 0));
    last.set(c.dot.replica, c.dot.seq);
    writeTimestamp(enc, c.hlc);
    enc.string(c.collection);
    enc.string(c.docId);
    if (c.encodeOps) c.encodeOps(enc);
    else c.ops.encodeTo(enc);
  }
}

/** Reads what `writeChanges` wrote. */
export function readChanges(dec: Decoder): Change[] {
  const n = dec.count(6);
  const last = new Map<ReplicaId, number>();
  const out: Change[] = [];
  for (let i = 0; i < n; i++) {
    const replica = dec.replica();
    const seq = (last.get(replica) ?? 0) + dec.int();
    if (!Number.isSafeInteger(seq) || seq < 1) dec.fail('BAD_VALUE', `dot sequence number ${seq}`);
    last.set(replica, seq);
    const hlc = readTimestamp(dec);
    const collection = dec.string();
    const docId = dec.string();
    if (collection.length === 0 || docId.length === 0)
      dec.fail('BAD_VALUE', 'empty collection or document id');
    out.push({ dot: { replica, seq }, hlc, collection, docId, ops: ORMap.decodeFrom(dec) });
  }
  return out;
}

/** One change as the log keeps it (`StoredChange.bytes`): a batch of one, or `LOGGED_WRITTEN`. */
export function encodeLogged(c: Change): Uint8Array {
  return c instanceof WrittenChange ? c.logged : encodeChanges([c]);
}

/** Reads what `encodeLogged` wrote; throws `DecodeError` for anything else. */
export function decodeLogged(bytes: Uint8Array): Change {
  if (bytes[0] !== FORMAT_VERSION || bytes[1] !== LOGGED_WRITTEN) {
    const changes = decodeChanges(bytes);
    if (changes.length !== 1)
      throw new DecodeError('BAD_VALUE', `a logged change holds ${changes.length} changes`, 0);
    return changes[0]!;
  }
  const dec = new Decoder(bytes);
  dec.header(FORMAT_VERSION);
  const replica = dec.replica();
  const seq = dec.uint();
  if (seq < 1) dec.fail('BAD_VALUE', 'dot sequence number 0');
  const hlc = readTimestamp(dec);
  const collection = dec.string();
  const docId = dec.string();
  const stored = dec.bytes(dec.remaining);
  const value = storedValue(stored, docId);
  if (!value) dec.fail('BAD_VALUE', 'a logged new document without its JSON');
  return { dot: { replica, seq }, hlc, collection, docId, ops: storedDocument(stored, value).state };
}

/** Decodes `encodeChanges`' output; throws `DecodeError` for anything malformed or hostile. */
export function decodeChanges(bytes: Uint8Array): Change[] {
  const dec = new Decoder(inflateMessage(bytes), CRDT_TYPES);
  const kind = dec.header(FORMAT_VERSION);
  if (kind !== CHANGES) dec.fail('BAD_TAG', `expected a change batch, got message kind ${kind}`);
  const out = readChanges(dec);
  dec.end();
  return out;
}
