import type { ReplicaId, VersionVector } from '@concord/crdt';
import { Attachments } from './Attachments.js';
import type { Change } from './Change.js';
import { Collection } from './Collection.js';
import type { Doc } from './CollectionState.js';
import { registerCore } from './core.js';
import { Replica } from './Replica.js';
import type { StandardSchemaV1 } from './Schema.js';
import type { Snapshot } from './Snapshot.js';
import type { PackedDocs, Storage } from './storage/Storage.js';
import { SyncClient, type SyncOptions, type SyncTarget, type Timers } from './sync/SyncClient.js';
import type { Transaction } from './Transaction.js';
import type { PropertyKind } from './values.js';

export interface CollectionSchema<T extends object = Record<string, unknown>> {
  /** CRDT kinds of properties by dotted path; others are registers unless written with a wrapper. */
  readonly properties?: Readonly<Record<string, PropertyKind>>;
  /** Field paths to keep secondary indexes on. */
  readonly indexes?: readonly string[];
  /**
   * A runtime schema for the documents (any Standard Schema: Zod, Valibot, ArkType, …): every
   * local write is checked against it (`INVALID`, nothing written), and a sync server refuses
   * changes that fail it. It also types the collection: `db.collection('p', { schema })` is a
   * `Collection` of the schema's output type.
   */
  readonly schema?: StandardSchemaV1<unknown, T>;
}

export interface DatabaseOptions {
  /**
   * Where the database is kept: a `Storage` — `IndexedDbStorage` in browsers, `SqliteStorage`
   * (`@concord/db/sqlite`) or `PostgresStorage` (`@concord/db/postgres`) in Node; memory when absent.
   */
  readonly storage?: Storage;
  /** This replica's id; kept in storage, generated on first open when absent. */
  readonly replicaId?: string;
  /** Physical time in ms for the hybrid logical clock (injected in tests). */
  readonly now?: () => number;
  /** Timers for background work — reading the rest of a SQLite file after `open` (injected in tests). */
  readonly timers?: Timers;
  readonly collections?: Readonly<Record<string, CollectionSchema>>;
  /** Refuse collections the schema does not declare. */
  readonly strict?: boolean;
  /** Changes held while they wait for their predecessors; beyond this, `BUFFER_FULL` (default 10,000). */
  readonly maxPending?: number;
  /** Bytes (of encoded changes) held while they wait for their predecessors; beyond this, `BUFFER_FULL` (default 64 MiB). */
  readonly maxPendingBytes?: number;
}

/**
 * One transaction's or one remote batch's effect, told to `onChange` listeners once: the changes
 * it logged (none for whole states a sync server sent) and every document whose state changed,
 * as it was before and after.
 * `version` is the database's version after it. Listeners must not change what they are given.
 */
export interface ChangeEvent {
  readonly origin: 'local' | 'remote';
  readonly changes: readonly Change[];
  readonly docs: ReadonlyArray<{
    readonly collection: string;
    readonly docId: string;
    /** The document's JSON before and after (undefined where it did not exist). */
    readonly before: Doc | undefined;
    readonly after: Doc | undefined;
  }>;
  readonly version: VersionVector;
}

/**
 * What a sync server sends a client (see sync/Protocol): deltas, whole states in their stored
 * form, documents that left the client's subscriptions — and the sync bookkeeping (`meta`) to
 * commit with them, atomically.
 */
export interface ServerBatch {
  readonly changes?: readonly Change[];
  /** Whole states in their stored form; `value`, its JSON, when the caller has parsed it already. */
  readonly docs?: ReadonlyArray<{
    readonly collection: string;
    readonly id: string;
    readonly stored: Uint8Array;
    readonly value?: Doc | undefined;
  }>;
  readonly evict?: ReadonlyArray<{ readonly collection: string; readonly id: string }>;
  /** Documents to set to the server's state, then re-apply these unacknowledged local changes (a rollback). */
  readonly replace?: ReadonlyArray<{
    readonly collection: string;
    readonly id: string;
    readonly stored: Uint8Array;
    readonly reapply: readonly Change[];
  }>;
  readonly meta?: ReadonlyArray<[string, Uint8Array]>;
  /** `docs` as the deflated bytes they came in (a snapshot chunk's), for storage to keep if it adopts them all. */
  readonly packed?: PackedDocs;
}

/**
 * What a peer at some version needs: the changes it lacks — with the version they bring it
 * to — or, behind the compaction horizon, a snapshot.
 */
export type ChangeSet =
  | { readonly kind: 'changes'; readonly changes: Change[]; readonly version: VersionVector }
  | Snapshot;

/**
 * A local-first database: collections of JSON documents, each an add-wins map with a CRDT per
 * property, materialised in memory and kept durably by a `Storage`. Every local write is a
 * change `{dot, hlc, collection, docId, ops}` appended to the log; `changesSince` and
 * `applyChanges` are what sync is built on, and `sync` keeps it in step with a server.
 *
 * Writes run one at a time, each staged on copies and made visible only once storage has made
 * it durable (the replica core, `Replica`): an acknowledged write survives a crash and a
 * failed one leaves nothing behind.
 */
export class Database {
  readonly attachments: Attachments;

  private constructor(private readonly replica: Replica) {
    this.attachments = new Attachments(replica.storage);
    registerCore(this, replica);
  }

  static async open(options: DatabaseOptions = {}): Promise<Database> {
    return new Database(await Replica.open(options));
  }

  /**
   * This database's replica id: the name its changes go under. It changes only if a sync server
   * finds the storage restored from a backup or copied.
   */
  get replicaId(): ReplicaId {
    return this.replica.replicaId;
  }

  /** What this replica has applied: its own changes and everyone else's. */
  version(): VersionVector {
    return this.replica.version();
  }

  /**
   * The collection `name` (created on first write). A schema types it (`schema`, or a type
   * argument), and adds indexes and property kinds.
   */
  collection<T extends object = Record<string, unknown>>(
    name: string,
    schema?: CollectionSchema<T>,
  ): Collection<T> {
    const state = this.replica.state(name, schema);
    let c = this.replica.facades.get(name);
    if (!c) {
      c = new Collection(this, state);
      this.replica.facades.set(name, c);
    }
    // One facade per collection, whatever type each caller sees it with: the type is the caller's claim.
    return c as unknown as Collection<T>;
  }

  /** The collections holding at least one live document, by name. */
  collectionNames(): string[] {
    return this.replica.collectionNames();
  }

  /**
   * Runs `fn`'s writes as one atomic, durable commit: one change per document touched. If `fn`
   * throws (or a document fails its collection's schema), nothing is written. Resolves with
   * `fn`'s result once the commit is durable.
   */
  transaction<T>(fn: (tx: Transaction) => T): Promise<T> {
    return this.replica.exclusive(() => this.replica.write(fn));
  }

  /** Called once per committed transaction or remote batch; returns the unsubscribe. */
  onChange(listener: (e: ChangeEvent) => void): () => void {
    return this.replica.onChange(listener);
  }

  /**
   * Everything a replica at `since` lacks: the logged changes after its version, in each
   * replica's order — or, if it is behind the compaction horizon, a snapshot.
   */
  changesSince(since: VersionVector): Promise<ChangeSet> {
    return this.replica.peers.changesSince(since);
  }

  /**
   * Applies changes from a peer: idempotent, in any order (one waiting for its predecessor is
   * held, within limits: `BUFFER_FULL` beyond). One durable commit; resolves with how many were
   * applied and how many wait.
   */
  applyChanges(
    changes: readonly Change[],
    limits: { readonly maxHeldBytes?: number } = {},
  ): Promise<{ applied: number; pending: number }> {
    return this.replica.peers.applyChanges(changes, limits);
  }

  /** Every document's stored form and the version they stand for: the database, whole. */
  snapshot(): Snapshot {
    return this.replica.peers.snapshot();
  }

  /** Joins a peer's snapshot; afterwards this replica is at least at its version. */
  applySnapshot(snapshot: Snapshot): Promise<void> {
    return this.replica.peers.applySnapshot(snapshot);
  }

  /**
   * Drops logged changes up to `horizon` (default: everything applied); a peer behind it gets a
   * snapshot. Once synced with a server, the changes it has not acknowledged stay.
   */
  compact(horizon?: VersionVector): Promise<void> {
    return this.replica.peers.compact(horizon);
  }

  /** This replica's changes no sync server has acknowledged: its outbox (every own change if it never synced). */
  outbox(): Promise<Change[]> {
    return this.replica.server.outbox();
  }

  /** How many changes the outbox holds, without reading them. */
  unacknowledged(): number {
    return this.replica.server.unacknowledged();
  }

  /**
   * Starts syncing with a server (sync/SyncClient): a `ws://` URL, the URLs of several nodes
   * of one deployment (`SyncTarget`), or a function that opens a transport (tests and
   * simulations use in-memory ones).
   */
  sync(target: SyncTarget, options: SyncOptions): SyncClient {
    return new SyncClient(this, target, options);
  }

  /** Waits for running writes, then closes storage; later calls reject with `CLOSED`. */
  close(): Promise<void> {
    return this.replica.close();
  }
}
