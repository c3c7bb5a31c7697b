import type { ReplicaId } from '@concord/crdt';

/**
 * A document's whole state (its stored form, see StoredDocument), as the database last committed
 * it. In a commit, an empty state means the replica no longer keeps the document (it left a
 * partial replica's subscriptions): the adapter deletes it.
 */
export interface StoredDoc {
  readonly collection: string;
  readonly id: string;
  readonly state: Uint8Array;
}

/** One change as stored in the log: its dot and its encoded bytes (`encodeLogged`). */
export interface StoredChange {
  readonly replica: ReplicaId;
  readonly seq: number;
  readonly bytes: Uint8Array;
}

/**
 * Stored forms as a deflated message carries them (a sync chunk's): the `count` forms written one
 * after another (`writeStoredForms`) from offset `at` of the message `deflated` inflates to
 * (`inflateMessage`).
 */
export interface PackedDocs {
  readonly deflated: Uint8Array;
  readonly at: number;
  readonly count: number;
}

/** What one transaction (local) or one batch of remote changes writes: all of it, or none. */
export interface Commit {
  readonly changes: readonly StoredChange[];
  readonly docs: readonly StoredDoc[];
  readonly meta: ReadonlyMap<string, Uint8Array>;
  /**
   * `docs` — all of one collection, in this order — as the deflated bytes they arrived in: an
   * adapter may keep these instead of their states (a tenth of the bytes for a catalogue's).
   */
  readonly packed?: PackedDocs | undefined;
}

/**
 * Where a database keeps its state. Every adapter — memory, SQLite, IndexedDB, PostgreSQL —
 * passes the one acceptance suite (`STORAGE_ACCEPTANCE`).
 *
 * The contract:
 * - `commit` is atomic (all of a commit or nothing, also across a crash) and resolves only once
 *   the commit is durable: the database acknowledges a write when this promise resolves;
 * - `load` returns every document state and meta entry last committed;
 * - `changes(replica, after, limit?)` returns that replica's logged changes with `seq > after`,
 *   ascending, at most `limit` of them;
 * - `compact(upTo)` drops logged changes with `seq <= upTo.get(replica)`, atomically;
 * - attachments are bytes under a key (an attachment's SHA-256 in hex, or a piece of one, as
 *   `Attachments` names them), written once; `deleteAttachment` removes one (a download that
 *   failed its hash check), after which the key may be written again.
 *
 * A commit's byte arrays are handed over: the database never changes them afterwards (nor those
 * `load` returns), so an adapter may keep them as they are. A commit's `bytes` and `state` may
 * be made when first read (a new document's are, `WrittenChange`, and a changed document's
 * state, `StagedForm`): an adapter that writes them out reads them in `commit`; one that keeps
 * them in memory may keep the records and read them when asked — a document's state only while
 * no later commit of that document has been made (a state replaced may be gone by then).
 */
export interface Storage {
  load(): Promise<{ meta: Map<string, Uint8Array>; docs: StoredDoc[] }>;
  commit(commit: Commit): Promise<void>;
  changes(replica: ReplicaId, after: number, limit?: number): Promise<StoredChange[]>;
  compact(upTo: ReadonlyMap<ReplicaId, number>): Promise<void>;
  putAttachment(hash: string, bytes: Uint8Array): Promise<void>;
  getAttachment(hash: string): Promise<Uint8Array | undefined>;
  deleteAttachment(hash: string): Promise<void>;
  close(): Promise<void>;
}

/** One collection as a deferring adapter loads it: its documents' JSON, not yet their CRDTs. */
export interface CollectionJson {
  readonly collection: string;
  /**
   * The live documents' JSON, as the texts of JSON arrays — each parsed at once, not document by
   * document; several, so that no string passes the engine's limit however large the collection.
   */
  readonly live: readonly string[];
  /** The ids of removed documents (kept for the causal context that keeps them removed). */
  readonly removed: readonly string[];
}

/**
 * An adapter that opens quicker by deferring the CRDT states (seed 000: a store's device opens
 * a 100,000-product catalogue to print labels, and most products are only ever read).
 * `loadJson` gives what reads need — every document's JSON — and the database then takes the
 * stored forms in runs, in the background, or one by one where a write needs one first.
 * Both reads are synchronous: a transaction needs a document's state while it runs.
 */
export interface DeferringStorage extends Storage {
  loadJson(): Promise<{ meta: Map<string, Uint8Array>; collections: CollectionJson[] }>;
  /** The stored form of one document, or undefined if none is stored. */
  storedForm(collection: string, id: string): Uint8Array | undefined;
  /** Up to `limit` stored forms of the collection with ids after `after`, in id order. */
  storedForms(collection: string, after: string, limit: number): StoredDoc[];
}

export function isDeferring(storage: Storage): storage is DeferringStorage {
  return typeof (storage as Partial<DeferringStorage>).loadJson === 'function';
}
