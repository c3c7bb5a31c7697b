import {
  DecodeError,
  type Dot,
  FORMAT_VERSION,
  InvalidArgumentError,
  replicaId,
  VersionVector,
} from '@concord/crdt';
import { CRDT_TYPES, Decoder, Encoder, type Interner, readDot, writeDot } from '@concord/crdt/internal';
import { type Change, readChanges, writeChanges } from '../Change.js';
import type { Doc } from '../CollectionState.js';
import { deflateMessage, deflateMessageAsync, inflatedSize, inflateMessage } from '../Deflated.js';
import { DbError } from '../errors.js';
import { MESSAGE_KINDS } from '../messageKinds.js';
import { checkQuery, type Where } from '../query/Query.js';
import { readStoredDocuments, writeStoredForms } from '../StoredDocument.js';
import type { PackedDocs } from '../storage/Storage.js';
import { isSyncErrorCode, SyncError, type SyncErrorCode } from './SyncError.js';

/** The sync protocol's version: a peer speaking another gets `UNSUPPORTED_VERSION` and a close. */
export const PROTOCOL_VERSION = 3;
/** The largest message either side accepts, after decompression, unless configured otherwise. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** What a client replicates: one collection, or the documents of it a filter selects. */
export interface Subscription {
  readonly collection: string;
  readonly where?: Where | undefined;
}

/**
 * Where a subscription's replica stands. `cursor`: caught up to this server version. `resume`:
 * an initial snapshot was interrupted after document `after` of the one taken at `version`
 * (`done` documents received), so it continues there instead of starting over.
 */
export interface SubscriptionState extends Subscription {
  readonly cursor?: VersionVector | undefined;
  readonly resume?:
    | { readonly version: VersionVector; readonly after: string; readonly done: number }
    | undefined;
}

/** A document's whole state in its stored form (JSON and encoded CRDT, see StoredDocument). */
export interface DocState {
  readonly collection: string;
  readonly id: string;
  readonly stored: Uint8Array;
}

export interface DocRef {
  readonly collection: string;
  readonly id: string;
}

/** How far an initial snapshot is: documents and stored bytes sent, of how many. */
export interface Progress {
  readonly docs: number;
  /** Those the subscription selected (a few removed while the snapshot was made are not sent). */
  readonly totalDocs: number;
  readonly bytes: number;
  /** Estimated from the documents read so far, exact at the last chunk (stored forms are read as chunks are made). */
  readonly totalBytes: number;
}

/** One chunk of a manifest: its SHA-256 (hex), documents and bytes. */
export interface ChunkRef {
  readonly hash: string;
  readonly docs: number;
  readonly bytes: number;
}

/** Client to server. */
export type ClientMessage =
  | {
      readonly type: 'hello';
      readonly protocol: number;
      readonly replica: string;
      readonly token: string;
      readonly subscriptions: readonly SubscriptionState[];
      /** The client fetches initial snapshots' chunks over HTTP when the server offers a manifest. */
      readonly chunksOverHttp?: boolean;
    }
  /** Changes from the client's log (its outbox), in each replica's order. */
  | { readonly type: 'push'; readonly changes: readonly Change[] }
  | { readonly type: 'ping'; readonly n: number }
  | { readonly type: 'pong'; readonly n: number };

/** Server to client. */
export type ServerMessage =
  /**
   * The handshake's answer: how far the server holds the client's own changes, and the server's
   * clock (ms since the epoch), which a client whose clock is off corrects its own by.
   */
  | {
      readonly type: 'welcome';
      readonly protocol: number;
      readonly server: string;
      readonly acked: number;
      readonly time: number;
    }
  /** One chunk of subscription `sub`'s initial snapshot, taken at `version`. */
  | {
      readonly type: 'chunk';
      readonly sub: number;
      readonly version: VersionVector;
      /** Stored forms, in id order; each one's id is its JSON's `_id`. */
      readonly docs: readonly Uint8Array[];
      /** Their JSON, parsed (undefined for a removed one): set by `decodeMessage`, not encoded. */
      readonly values?: ReadonlyArray<Doc | undefined>;
      /** The stored forms as the deflated frame carried them: set by `decodeMessage` when it was deflated. */
      readonly packed?: PackedDocs;
      readonly progress: Progress;
    }
  /**
   * Subscription `sub`'s initial snapshot at `version` as chunks to fetch over HTTP, in order:
   * each is a `chunk` message's frame, named by the SHA-256 of its bytes (immutable, cacheable).
   */
  | {
      readonly type: 'manifest';
      readonly sub: number;
      readonly version: VersionVector;
      readonly chunks: readonly ChunkRef[];
    }
  /**
   * What changed: deltas for documents the client holds, whole states for documents entering a
   * subscription, documents leaving one. A live update's `version` holds the entries of the
   * server's version that moved since the last `synced` or update on this connection — merged
   * into the cursor, it is the server version this brings the client's subscriptions to (a
   * server that has heard from thousands of replicas does not resend them all each time). It is
   * absent in the middle of a catch-up.
   */
  | {
      readonly type: 'update';
      readonly changes: readonly Change[];
      readonly docs: readonly DocState[];
      readonly evict: readonly DocRef[];
      readonly version: VersionVector | undefined;
    }
  /** Every subscription is caught up to `version`; live updates follow. */
  | { readonly type: 'synced'; readonly version: VersionVector }
  /** The server holds the client's changes up to `seq` durably. */
  | { readonly type: 'ack'; readonly seq: number }
  /** Change `dot` was refused; `doc` is the document as the server has it, to roll back to. */
  | {
      readonly type: 'reject';
      readonly dot: Dot;
      readonly code: SyncErrorCode;
      readonly message: string;
      readonly doc: DocState;
    }
  /** The session ends: the transport closes after this. */
  | { readonly type: 'error'; readonly code: SyncErrorCode; readonly message: string }
  | { readonly type: 'ping'; readonly n: number }
  | { readonly type: 'pong'; readonly n: number };

export type Message = ClientMessage | ServerMessage;

/** The protocol's messages; their codec kinds are in `MESSAGE_KINDS`. */
const PROTOCOL_TYPES = [
  'hello',
  'push',
  'ping',
  'pong',
  'welcome',
  'chunk',
  'manifest',
  'update',
  'synced',
  'ack',
  'reject',
  'error',
] as const satisfies readonly Message['type'][];
const TYPES = new Map<number, Message['type']>(PROTOCOL_TYPES.map((t) => [MESSAGE_KINDS[t], t]));

/** Encodes one message as a frame (deflated when large enough to gain). */
export function encodeMessage(m: Message): Uint8Array {
  return deflateMessage(encodeBody(m));
}

/** `encodeMessage`, deflated off this thread where it can be (`deflateMessageAsync`): the same bytes. */
export function encodeMessageAsync(m: Message): Promise<Uint8Array> {
  return deflateMessageAsync(encodeBody(m));
}

/** `m` encoded, before deflate. */
function encodeBody(m: Message): Uint8Array {
  const enc = new Encoder();
  switch (m.type) {
    case 'hello':
      enc.uint(m.protocol);
      enc.string(m.replica);
      enc.string(m.token);
      enc.uint(m.subscriptions.length);
      for (const s of m.subscriptions) {
        enc.string(s.collection);
        enc.string(s.where ? JSON.stringify(s.where) : '');
        optional(enc, s.cursor, (v) => v.encodeTo(enc));
        optional(enc, s.resume, (r) => {
          r.version.encodeTo(enc);
          enc.string(r.after);
          enc.uint(r.done);
        });
      }
      enc.byte(m.chunksOverHttp ? 1 : 0);
      break;
    case 'push':
      writeChanges(enc, m.changes);
      break;
    case 'ping':
    case 'pong':
    case 'ack':
      enc.uint(m.type === 'ack' ? m.seq : m.n);
      break;
    case 'welcome':
      enc.uint(m.protocol);
      enc.string(m.server);
      enc.uint(m.acked);
      enc.uint(m.time);
      break;
    case 'chunk':
      enc.uint(m.sub);
      m.version.encodeTo(enc);
      enc.uint(m.docs.length);
      writeStoredForms(enc, m.docs);
      for (const n of [m.progress.docs, m.progress.totalDocs, m.progress.bytes, m.progress.totalBytes])
        enc.uint(n);
      break;
    case 'manifest':
      enc.uint(m.sub);
      m.version.encodeTo(enc);
      enc.uint(m.chunks.length);
      for (const c of m.chunks) {
        enc.string(c.hash);
        enc.uint(c.docs);
        enc.uint(c.bytes);
      }
      break;
    case 'update':
      writeChanges(enc, m.changes);
      enc.uint(m.docs.length);
      for (const d of m.docs) docState(enc, d);
      enc.uint(m.evict.length);
      for (const d of m.evict) {
        enc.string(d.collection);
        enc.string(d.id);
      }
      optional(enc, m.version, (v) => v.encodeTo(enc));
      break;
    case 'synced':
      m.version.encodeTo(enc);
      break;
    case 'reject':
      writeDot(enc, m.dot);
      enc.string(m.code);
      enc.string(m.message);
      docState(enc, m.doc);
      break;
    case 'error':
      enc.string(m.code);
      enc.string(m.message);
      break;
  }
  return enc.finish(FORMAT_VERSION, MESSAGE_KINDS[m.type]);
}

/**
 * Decodes and validates one frame: a `SyncError` — `TOO_LARGE` past `maxBytes` (before and after
 * inflating), `BAD_MESSAGE` for anything malformed — never anything else. `interner`: the
 * reader's (its database's), where strings read before are kept; `inflated`: the frame inflated
 * already, and checked as `inflateMessage` checks (`inflateMessageAsync`).
 */
export function decodeMessage(
  frame: Uint8Array,
  maxBytes = MAX_MESSAGE_BYTES,
  interner?: Interner,
  inflated?: Uint8Array,
): Message {
  try {
    const size = Math.max(frame.length, inflatedSize(frame));
    if (size > maxBytes) throw new SyncError('TOO_LARGE', `a message of ${size} bytes`);
    const bytes = inflated ?? inflateMessage(frame);
    return read(bytes, interner, bytes === frame ? undefined : frame);
  } catch (e) {
    // What decoding can throw: the codec's errors, a bad filter, bad JSON in it, a bad replica id.
    if (e instanceof DbError && e.code === 'BAD_QUERY') throw new SyncError('BAD_QUERY', e.message);
    if (
      e instanceof DecodeError ||
      e instanceof DbError ||
      e instanceof SyntaxError ||
      e instanceof InvalidArgumentError
    )
      throw new SyncError('BAD_MESSAGE', e.message);
    throw e;
  }
}

/** `deflated`: the frame `bytes` were inflated from, if they were. */
function read(bytes: Uint8Array, interner: Interner | undefined, deflated: Uint8Array | undefined): Message {
  const dec = new Decoder(bytes, CRDT_TYPES, interner);
  const kind = dec.header(FORMAT_VERSION);
  const type = TYPES.get(kind);
  if (!type) return dec.fail('BAD_TAG', `message kind ${kind} is not a sync message`);
  let m: Message;
  switch (type) {
    case 'hello': {
      const protocol = dec.uint();
      const replica = dec.string();
      replicaId(replica);
      const token = dec.string();
      const n = dec.count(4);
      const subscriptions: SubscriptionState[] = [];
      for (let i = 0; i < n; i++) {
        const collection = nonEmpty(dec, dec.string());
        const json = dec.string();
        const where = json === '' ? undefined : (JSON.parse(json) as Where);
        if (where !== undefined) checkQuery({ where });
        const cursor = readOptional(dec, () => VersionVector.decodeFrom(dec));
        const resume = readOptional(dec, () => ({
          version: VersionVector.decodeFrom(dec),
          after: nonEmpty(dec, dec.string()),
          done: dec.uint(),
        }));
        subscriptions.push({ collection, where, cursor, resume });
      }
      // Absent from clients that predate it: they take snapshots over the WebSocket.
      const chunksOverHttp = dec.remaining > 0 ? dec.byte() === 1 : false;
      m = { type, protocol, replica, token, subscriptions, chunksOverHttp };
      break;
    }
    case 'push':
      m = { type, changes: readChanges(dec) };
      break;
    case 'ping':
    case 'pong':
      m = { type, n: dec.uint() };
      break;
    case 'ack':
      m = { type, seq: dec.uint() };
      break;
    case 'welcome':
      m = { type, protocol: dec.uint(), server: dec.string(), acked: dec.uint(), time: dec.uint() };
      break;
    case 'chunk': {
      const sub = dec.uint();
      const version = VersionVector.decodeFrom(dec);
      const count = dec.count(2);
      const at = bytes.length - dec.remaining;
      const { stored: docs, values } = readStoredDocuments(dec, count);
      const [done, totalDocs, bytesDone, totalBytes] = [dec.uint(), dec.uint(), dec.uint(), dec.uint()];
      const progress = { docs: done, totalDocs, bytes: bytesDone, totalBytes };
      m = deflated
        ? { type, sub, version, docs, values, packed: { deflated, at, count }, progress }
        : { type, sub, version, docs, values, progress };
      break;
    }
    case 'manifest': {
      const sub = dec.uint();
      const version = VersionVector.decodeFrom(dec);
      const n = dec.count(3);
      const chunks: ChunkRef[] = [];
      for (let i = 0; i < n; i++) {
        const hash = dec.string();
        if (!/^[0-9a-f]{64}$/.test(hash)) dec.fail('BAD_VALUE', 'a chunk hash is 64 hex digits');
        chunks.push({ hash, docs: dec.uint(), bytes: dec.uint() });
      }
      m = { type, sub, version, chunks };
      break;
    }
    case 'update': {
      const changes = readChanges(dec);
      const nDocs = dec.count(3);
      const docs: DocState[] = [];
      for (let i = 0; i < nDocs; i++) docs.push(readDocState(dec));
      const nEvict = dec.count(2);
      const evict: DocRef[] = [];
      for (let i = 0; i < nEvict; i++)
        evict.push({ collection: nonEmpty(dec, dec.string()), id: nonEmpty(dec, dec.string()) });
      const version = readOptional(dec, () => VersionVector.decodeFrom(dec));
      m = { type, changes, docs, evict, version };
      break;
    }
    case 'synced':
      m = { type, version: VersionVector.decodeFrom(dec) };
      break;
    case 'reject': {
      const dot = readDot(dec);
      const code = errorCode(dec);
      m = { type, dot, code, message: dec.string(), doc: readDocState(dec) };
      break;
    }
    case 'error': {
      const code = errorCode(dec);
      m = { type, code, message: dec.string() };
      break;
    }
  }
  dec.end();
  return m;
}

function optional<T>(enc: Encoder, value: T | undefined, write: (v: T) => void): void {
  enc.byte(value === undefined ? 0 : 1);
  if (value !== undefined) write(value);
}

function readOptional<T>(dec: Decoder, read: () => T): T | undefined {
  const flag = dec.byte();
  if (flag > 1) dec.fail('BAD_VALUE', `bad presence flag ${flag}`);
  return flag === 1 ? read() : undefined;
}

function docState(enc: Encoder, d: DocState): void {
  enc.string(d.collection);
  enc.string(d.id);
  enc.uint(d.stored.length);
  enc.bytes(d.stored);
}

function readDocState(dec: Decoder): DocState {
  const collection = nonEmpty(dec, dec.string());
  const id = nonEmpty(dec, dec.string());
  return { collection, id, stored: dec.bytes(dec.uint()) };
}

function nonEmpty(dec: Decoder, s: string): string {
  if (s.length === 0) dec.fail('BAD_VALUE', 'an empty name');
  return s;
}

function errorCode(dec: Decoder): SyncErrorCode {
  const code = dec.string();
  if (!isSyncErrorCode(code)) dec.fail('BAD_VALUE', `unknown error code ${code}`);
  return code;
}
