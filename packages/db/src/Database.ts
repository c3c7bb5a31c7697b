import {
  ClockDriftError,
  DecodeError,
  decodeVersionVector,
  encodeVersionVector,
  HybridLogicalClock,
  newReplicaId,
  ORMap,
  type ReplicaId,
  replicaId as toReplicaId,
  VersionVector,
} from '@concord/crdt';
import { Decoder, Encoder } from '@concord/crdt/internal';
import { Attachments } from './Attachments.js';
import { type Change, decodeLogged, encodeLogged } from './Change.js';
import { Collection } from './Collection.js';
import { CollectionState, type Doc } from './CollectionState.js';
import { DeferredEvictions, docKey } from './DeferredEvictions.js';
import type { Document, WriteContext } from './Document.js';
import { DbError } from './errors.js';
import { Integration } from './Integration.js';
import { checkCollectionName, checkDocument, checkId } from './limits.js';
import { PendingChanges } from './PendingChanges.js';
import { Preview } from './Preview.js';
import type { Where } from './query/Query.js';
import { applyRewrite, decodeRewrites, encodeRewrites, type Rewrite } from './Rewrite.js';
import { checkSchema, type StandardSchemaV1 } from './Schema.js';
import type { Snapshot } from './Snapshot.js';
import { type StagedDocument, stage } from './StagedDocument.js';
import { StoredCheck, storedValue } from './StoredDocument.js';
import { MemoryStorage } from './storage/MemoryStorage.js';
import { isDeferring, type Storage, type StoredChange, type StoredDoc } from './storage/Storage.js';
import { SyncClient, type SyncOptions } from './sync/SyncClient.js';
import type { Transport } from './sync/Transport.js';
import { Transaction } from './Transaction.js';
import type { PropertyKind } from './values.js';
import { WrittenChange } from './WrittenDocument.js';

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
}

/**
 * What a peer at some version needs: the changes it lacks — with the version they bring it
 * to — or, behind the compaction horizon, a snapshot.
 */
export type ChangeSet =
  | { readonly kind: 'changes'; readonly changes: Change[]; readonly version: VersionVector }
  | Snapshot;

type Touched = Map<string, { before: Doc | undefined; after: Doc | undefined }>;

const META_REPLICA = 'replica';
const META_VERSION = 'version';
const META_HORIZON = 'horizon';
/** How far a sync server holds this replica's own changes (`acknowledged`). */
const META_ACKED = 'sync:acked';
/** Documents evicted while the outbox changed them, kept until acknowledged (`DeferredEvictions`). */
const META_EVICTING = 'sync:evicting';
/** Before `docKey`: the state of a document evicted after this replica wrote to it (`CollectionState.evicted`). */
const META_EVICTED = 'sync:evicted:';
const NONE = new Uint8Array(0);
/** Writes of an abandoned replica id still to be made again under the new one (see `fork`). */
const META_FORKED = 'sync:forked';
const utf8 = new TextEncoder();
/** How far a replica's clock may be from its sync server's before it is corrected. */
const CLOCK_TOLERANCE_MS = 60_000;

/**
 * A local-first database: collections of JSON documents, each an add-wins map with a CRDT per
 * property, materialised in memory and kept durably by a `Storage`. Every local write is a
 * change `{dot, hlc, collection, docId, ops}` appended to the log; `changesSince` and
 * `applyChanges` are what sync is built on.
 *
 * Writes run one at a time (a promise chain), each staged on copies and installed only once
 * storage has made it durable, so an acknowledged write survives a crash and a failed one
 * leaves nothing behind.
 */
export class Database {
  readonly attachments: Attachments;
  private readonly collections = new Map<string, CollectionState>();
  private readonly facades = new Map<string, Collection>();
  private readonly listeners = new Set<(e: ChangeEvent) => void>();
  /**
   * The version the last change event carried, shared by the events after it until the version
   * moves: a sync client's every update leaves it where it is, and a copy per event is garbage.
   */
  private published: VersionVector | undefined;
  /** Remote changes waiting for their predecessor from the same replica. */
  private readonly pending = new PendingChanges();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly storage: Storage,
    private readonly meta: Map<string, Uint8Array>,
    private replica: ReplicaId,
    private clock: HybridLogicalClock,
    private readonly vv: VersionVector,
    private readonly horizon: VersionVector,
    private readonly options: DatabaseOptions,
  ) {
    this.attachments = new Attachments(storage);
  }

  static async open(options: DatabaseOptions = {}): Promise<Database> {
    const storage = options.storage ?? new MemoryStorage();
    const deferring = isDeferring(storage);
    const { meta, docs, collections } = deferring
      ? { ...(await storage.loadJson()), docs: [] }
      : { ...(await storage.load()), collections: [] };
    const stored = meta.get(META_REPLICA);
    const id = stored ? new TextDecoder().decode(stored) : (options.replicaId ?? newReplicaId());
    if (options.replicaId && options.replicaId !== id)
      throw new DbError('BAD_ID', `this storage belongs to replica ${id}, not ${options.replicaId}`);
    const replica = toReplicaId(id);
    const version = meta.get(META_VERSION);
    const horizon = meta.get(META_HORIZON);
    const db = new Database(
      storage,
      meta,
      replica,
      new HybridLogicalClock(replica, options.now ? { now: options.now } : {}),
      version ? decodeVersionVector(version) : new VersionVector(),
      horizon ? decodeVersionVector(horizon) : new VersionVector(),
      options,
    );
    if (!stored)
      await storage.commit({ changes: [], docs: [], meta: new Map([[META_REPLICA, utf8.encode(id)]]) });
    for (const d of docs) db.state(d.collection).load(d.id, d.state);
    db.keepEvicted(meta);
    if (deferring) {
      for (const c of collections) db.state(c.collection).loadJson(storage, c.live, c.removed);
      db.loadDeferred();
    }
    for (const name of Object.keys(options.collections ?? {})) db.state(name);
    return db;
  }

  /**
   * Reads the stored forms a deferring storage left out of `open`, a run at a time between other
   * work, until every collection has them all; a write that needs one before then reads it alone.
   */
  private loadDeferred(): void {
    // A run is exclusive work, so none is read between a commit and its install.
    setTimeout(() => {
      if (this.closed) return;
      this.exclusive(async () => {
        for (const c of this.collections.values()) if (c.loadDeferred()) return this.loadDeferred();
      }).catch(() => {
        // Storage failed to read (or closed meanwhile): what is still deferred is read when needed.
      });
    }, 0);
  }

  /** The collection `name` (created on first write). Options add indexes and property kinds. */
  collection<T extends object = Record<string, unknown>>(
    name: string,
    schema?: CollectionSchema<T>,
  ): Collection<T> {
    const state = this.state(name, schema);
    let c = this.facades.get(name);
    if (!c) {
      c = new Collection(this, state);
      this.facades.set(name, c);
    }
    // One facade per collection, whatever type each caller sees it with: the type is the caller's claim.
    return c as unknown as Collection<T>;
  }

  /** The runtime schema of `collection`'s documents, if one was given (a sync server checks pushes with it). */
  schemaOf(collection: string): StandardSchemaV1 | undefined {
    return this.collections.get(collection)?.schema ?? this.options.collections?.[collection]?.schema;
  }

  private state(name: string, schema?: CollectionSchema<object>): CollectionState {
    let state = this.collections.get(name);
    if (!state) {
      checkCollectionName(name);
      const declared = this.options.collections?.[name];
      if (!declared && this.options.strict)
        throw new DbError('UNKNOWN_COLLECTION', `no collection ${name} in the schema`);
      const kinds = new Map(Object.entries({ ...declared?.properties, ...schema?.properties }));
      state = new CollectionState(name, kinds);
      state.schema = declared?.schema;
      for (const path of declared?.indexes ?? []) state.addIndex(path);
      this.collections.set(name, state);
    }
    if (schema?.schema) state.schema = schema.schema;
    for (const path of schema?.indexes ?? []) state.addIndex(path);
    return state;
  }

  /** What this replica has applied: its own changes and everyone else's. */
  version(): VersionVector {
    return this.vv.clone();
  }

  /**
   * This database's replica id: the name its changes go under. It changes only if a sync server
   * finds the storage restored from a backup or copied (`fork`).
   */
  get replicaId(): ReplicaId {
    return this.replica;
  }

  /** Called once per committed transaction or remote batch; returns the unsubscribe. */
  onChange(listener: (e: ChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs `task` after every earlier write has finished: one writer at a time. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new DbError('CLOSED', 'the database is closed'));
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Runs `fn`'s writes as one atomic, durable commit: one change per document touched. If `fn`
   * throws, nothing is written. Resolves with `fn`'s result once the commit is durable.
   */
  transaction<T>(fn: (tx: Transaction) => T): Promise<T> {
    return this.exclusive(() => this.write(fn));
  }

  /** `transaction`'s work, committing `meta` with it (inside `exclusive`). */
  private async write<T>(
    fn: (tx: Transaction) => T,
    meta: ReadonlyArray<[string, Uint8Array]> = [],
  ): Promise<T> {
    const { result, changes, version, docs } = this.stageTransaction(fn);
    if (changes.length === 0 && meta.length === 0) return result;
    for (const d of docs)
      if (d.collection.schema && d.value)
        await checkSchema(d.collection.schema, d.collection.name, d.id, d.value);
    await this.commit(changes, version, docs, meta);
    this.install('local', changes, version, docs);
    return result;
  }

  /** Makes `rewrites` again as this replica's changes, in one transaction (see `Rewrite`). */
  rewrite(rewrites: readonly Rewrite[]): Promise<void> {
    return this.transaction((tx) => {
      for (const r of rewrites) applyRewrite(tx, r);
    });
  }

  /**
   * Takes a new replica id, for a storage a sync server found restored from a backup or copied:
   * the server holds changes under this id that this database never made, or other ones under
   * the same numbers, so every change made here from now on must have a name of its own (as
   * Automerge and Yjs give a forked document a new actor or client id). The documents the
   * unacknowledged changes touched are evicted — their states hold the abandoned id's dots —
   * and their writes kept as `Rewrite`s, by value, for `rewriteForked` once the server's states
   * are in. `meta` (sync's cursors, reset so the server sends every document again) is committed
   * with it. Returns how many writes were kept.
   */
  fork(meta: ReadonlyArray<[string, Uint8Array]> = []): Promise<number> {
    return this.exclusive(async () => {
      const touched = new Map<string, { collection: string; id: string; keys: Set<string> }>();
      for (const s of await this.storage.changes(this.replica, this.ackedSeq() ?? 0)) {
        const c = decodeLogged(s.bytes);
        const key = docKey(c.collection, c.docId);
        let t = touched.get(key);
        if (!t) {
          t = { collection: c.collection, id: c.docId, keys: new Set() };
          touched.set(key, t);
        }
        for (const k of c.ops.keys()) t.keys.add(k);
      }
      const kept = new Map(
        decodeRewrites(this.meta.get(META_FORKED)).map((r) => [docKey(r.collection, r.id), r]),
      );
      const integration = new Integration((name) => this.state(name));
      const entries: Array<[string, Uint8Array]> = [...meta];
      for (const [key, { collection, id, keys }] of touched) {
        const state = this.state(collection);
        const earlier = kept.get(key)?.keys ?? [];
        kept.set(key, { collection, id, keys: [...new Set([...earlier, ...keys])], value: state.value(id) });
        integration.evict(collection, id);
        this.returned(collection, id, entries);
      }
      const replica = toReplicaId(newReplicaId());
      const zero = new Encoder();
      zero.uint(0);
      entries.push(
        [META_REPLICA, utf8.encode(replica)],
        [META_ACKED, zero.finishRaw()],
        [META_EVICTING, new DeferredEvictions().encode()],
        [META_FORKED, encodeRewrites([...kept.values()])],
      );
      const docs = integration.staged();
      await this.commit([], undefined, docs, entries);
      this.keepEvicted(entries);
      const clock = new HybridLogicalClock(replica, this.options.now ? { now: this.options.now } : {});
      clock.correct(this.clock.offset);
      this.replica = replica;
      this.clock = clock;
      this.install('remote', [], undefined, docs);
      return kept.size;
    });
  }

  /** Makes the writes `fork` kept again under the new replica id, and forgets them, in one commit. */
  rewriteForked(): Promise<void> {
    return this.exclusive(async () => {
      const rewrites = decodeRewrites(this.meta.get(META_FORKED));
      if (rewrites.length === 0) return;
      await this.write(
        (tx) => {
          for (const r of rewrites) applyRewrite(tx, r);
        },
        [[META_FORKED, NONE]],
      );
    });
  }

  /** Whether writes `fork` kept are still to be made again. */
  get forked(): boolean {
    return (this.meta.get(META_FORKED)?.length ?? 0) > 0;
  }

  /**
   * The changes `fn`'s writes would make, as `transaction` would make them now, without
   * committing anything: a sync server judges a REST write by the document before and after
   * them (counters and text included) before it writes. Their dots are provisional.
   */
  draft(fn: (tx: Transaction) => unknown): Change[] {
    if (this.closed) throw new DbError('CLOSED', 'the database is closed');
    return this.stageTransaction(fn).changes;
  }

  /** Runs `fn` on staged copies: its changes, numbered after this replica's last, and the documents they make. */
  private stageTransaction<T>(fn: (tx: Transaction) => T): {
    result: T;
    changes: Change[];
    version: VersionVector;
    docs: StagedDocument[];
  } {
    // One timestamp for the whole transaction, as its writes take effect at once: writes to
    // one register within it are ordered by their dots, not their clocks, and every later
    // transaction's timestamp is greater. (A catalogue built in one transaction then stores
    // the same metadata beside every product, which deflate takes to almost nothing.)
    const time = this.clock.now();
    const contexts = new Map<CollectionState, WriteContext>();
    const tx = new Transaction(
      (name) => this.state(name),
      (c) => {
        let ctx = contexts.get(c);
        if (!ctx) {
          ctx = { replica: this.replicaId, time, kinds: c.kinds };
          contexts.set(c, ctx);
        }
        return ctx;
      },
    );
    const result = fn(tx);
    const changes: Change[] = [];
    const docs: StagedDocument[] = [];
    const version = this.vv.clone();
    for (const s of tx.staged) {
      if (!s.delta && !s.written) continue;
      const dot = { replica: this.replicaId, seq: version.get(this.replicaId) + 1 };
      version.advance(this.replicaId, dot.seq);
      const collection = s.collection.name;
      // A document over the limits fails the transaction: nothing is committed, no dot used.
      if (s.written) {
        const { value } = s.written;
        checkDocument(collection, s.id, value);
        const change = new WrittenChange(dot, time, collection, s.id, s.written);
        changes.push(change);
        docs.push({ collection: s.collection, id: s.id, doc: undefined, value, stored: change });
      } else {
        const staged = stage(s.collection, s.id, s.doc!);
        if (staged.value) checkDocument(collection, s.id, staged.value);
        changes.push({ dot, hlc: time, collection, docId: s.id, ops: s.delta! });
        docs.push(staged);
      }
    }
    return { result, changes, version, docs };
  }

  /** Makes a commit durable; `version` is written only when it moved (sync's `integrate` never moves it). */
  private async commit(
    changes: readonly Change[],
    version: VersionVector | undefined,
    docs: readonly StagedDocument[],
    extraMeta: ReadonlyArray<[string, Uint8Array]> = [],
  ): Promise<void> {
    // A new document's change is its own log entry and stored state, encoded when storage reads them.
    const stored: StoredChange[] = changes.map((c) =>
      c instanceof WrittenChange ? c : { replica: c.dot.replica, seq: c.dot.seq, bytes: encodeLogged(c) },
    );
    const storedDocs: StoredDoc[] = docs.map((d) =>
      d.stored instanceof WrittenChange
        ? d.stored
        : { collection: d.collection.name, id: d.id, state: d.stored },
    );
    const meta = new Map<string, Uint8Array>(extraMeta);
    if (version) meta.set(META_VERSION, encodeVersionVector(version));
    await this.storage.commit({ changes: stored, docs: storedDocs, meta });
    for (const [k, v] of extraMeta) this.meta.set(k, v);
  }

  /**
   * Makes a durable commit visible: the version and the documents change in one synchronous
   * step, so nothing — `version()`, `snapshot()` — ever sees a version without its documents.
   */
  private install(
    origin: ChangeEvent['origin'],
    changes: readonly Change[],
    version: VersionVector | undefined,
    docs: readonly StagedDocument[],
  ): void {
    const moved = version?.compare(this.vv);
    if (moved === 'after' || moved === 'concurrent') {
      this.vv.merge(version!);
      this.published = undefined;
    }
    const touched = new Map<CollectionState, Touched>();
    for (const d of docs) {
      let t = touched.get(d.collection);
      if (!t) {
        t = new Map();
        touched.set(d.collection, t);
      }
      const { before, after } =
        d.stored instanceof Uint8Array && d.stored.length === 0
          ? d.collection.delete(d.id)
          : d.doc
            ? d.collection.set(d.id, d.doc, d.value, d.stored)
            : d.collection.load(d.id, d.stored, d.value);
      const prev = t.get(d.id);
      t.set(d.id, { before: prev ? prev.before : before, after });
    }
    for (const [state, t] of touched) this.facades.get(state.name)?.notify(t);
    // A batch that only moved sync bookkeeping (a cursor) changed nothing anyone could observe.
    if (this.listeners.size === 0 || (changes.length === 0 && docs.length === 0)) return;
    const changed: Array<ChangeEvent['docs'][number]> = [];
    for (const [state, t] of touched)
      for (const [docId, { before, after }] of t)
        changed.push({ collection: state.name, docId, before, after });
    const event: ChangeEvent = { origin, changes, docs: changed, version: this.published ?? this.vv.clone() };
    this.published = event.version;
    for (const l of this.listeners) l(event);
  }

  /**
   * Everything a replica at `since` lacks: the logged changes after its version, in each
   * replica's order — or, if it is behind the compaction horizon, a snapshot of every document
   * and the version the snapshot stands for.
   */
  changesSince(since: VersionVector): Promise<ChangeSet> {
    return this.exclusive(async () => {
      for (const [replica, have] of this.vv.entries()) {
        if (since.get(replica) < have && since.get(replica) < this.horizon.get(replica))
          return this.snapshot();
      }
      const changes: Change[] = [];
      for (const [replica, have] of this.vv.entries()) {
        if (since.get(replica) >= have) continue;
        for (const s of await this.storage.changes(replica, since.get(replica)))
          changes.push(decodeLogged(s.bytes));
      }
      return { kind: 'changes', changes, version: this.vv.clone() };
    });
  }

  /** Every document's stored form and the version they stand for: the database, whole. */
  snapshot(): Snapshot {
    const docs: Array<{ collection: string; id: string; stored: Uint8Array }> = [];
    for (const c of this.collections.values())
      for (const [id, stored] of c.storedForms()) docs.push({ collection: c.name, id, stored });
    return { kind: 'snapshot', version: this.vv.clone(), docs };
  }

  /**
   * Applies changes from elsewhere: idempotent, in any order. A change whose predecessor from
   * the same replica has not arrived waits in a bounded buffer (`maxPending` changes and
   * `maxPendingBytes` in all; `limits.maxHeldBytes` for the replicas of this batch, a sync
   * server's per-client share); when it arrives, both apply. The batch is one durable commit.
   * Resolves with how many changes were applied and how many wait; throws (applying nothing)
   * `BUFFER_FULL` or `BAD_CHANGE`.
   */
  applyChanges(
    changes: readonly Change[],
    limits: { readonly maxHeldBytes?: number } = {},
  ): Promise<{ applied: number; pending: number }> {
    return this.exclusive(async () => {
      for (const c of changes) checkChange(c);
      const added: Change[] = [];
      for (const c of changes)
        if (c.dot.seq > this.vv.get(c.dot.replica) && this.pending.add(c)) added.push(c);
      const ready = this.pending.ready(this.vv);
      const applying = new Set(ready);
      for (const c of added) if (!applying.has(c)) this.pending.weigh(c);
      const refusal = this.overLimits(ready.length, added, limits.maxHeldBytes);
      if (refusal) {
        for (const c of added) this.pending.delete(c);
        throw new DbError('BUFFER_FULL', refusal);
      }
      try {
        return { applied: await this.flushPending(ready), pending: this.pending.size };
      } catch (e) {
        for (const c of added) this.pending.delete(c);
        throw e;
      }
    });
  }

  /** Why the buffer, once `ready` changes leave it, holds too much; undefined if it does not. */
  private overLimits(ready: number, added: readonly Change[], maxHeldBytes = Number.POSITIVE_INFINITY) {
    const max = this.options.maxPending ?? 10_000;
    if (this.pending.size - ready > max) return `more than ${max} changes wait for their predecessors`;
    const maxBytes = this.options.maxPendingBytes ?? 64 * 1024 * 1024;
    if (this.pending.bytes > maxBytes)
      return `more than ${maxBytes} bytes of changes wait for their predecessors`;
    for (const r of new Set(added.map((c) => c.dot.replica)))
      if (this.pending.bytesOf(r) > maxHeldBytes)
        return `more than ${maxHeldBytes} bytes of ${r}'s changes wait for their predecessors`;
    return undefined;
  }

  /** Bytes of remote changes held waiting for their predecessors (a metric: see `maxPendingBytes`). */
  get pendingBytes(): number {
    return this.pending.bytes;
  }

  /** Forgets the changes of `replica` waiting for their predecessors (its sender will resend them). */
  dropPending(replica: string): void {
    this.pending.drop(replica);
  }

  /** Applies the buffered changes that are ready as one commit and unbuffers them; returns how many. */
  private async flushPending(ready = this.pending.ready(this.vv)): Promise<number> {
    await this.applyReady(ready);
    for (const c of ready) this.pending.delete(c);
    return ready.length;
  }

  private async applyReady(ready: readonly Change[]): Promise<number> {
    if (ready.length === 0) return 0;
    const touched = new Map<string, { collection: CollectionState; id: string; doc: Document }>();
    const version = this.vv.clone();
    for (const c of ready) {
      this.receive(c);
      const collection = this.state(c.collection);
      const key = `${c.collection}\u0000${c.docId}`;
      let s = touched.get(key);
      if (!s) {
        s = { collection, id: c.docId, doc: collection.writable(c.docId) };
        touched.set(key, s);
      }
      s.doc.state.join(c.ops);
      version.advance(c.dot.replica, c.dot.seq);
    }
    const docs = [...touched.values()].map((s) => stage(s.collection, s.id, s.doc));
    await this.commit(ready, version, docs);
    this.install('remote', ready, version, docs);
    return ready.length;
  }

  /**
   * Joins a snapshot from a peer (see `changesSince`); afterwards this replica is at least at its
   * version. The snapshot's states become this database's: don't change them afterwards.
   */
  applySnapshot(snapshot: Snapshot): Promise<void> {
    return this.exclusive(async () => {
      // Documents this replica never had are adopted in their stored form, the others joined.
      // Every state is checked by decoding it: a snapshot comes from a peer, not from this
      // replica's server, and a state that cannot be decoded must not be adopted unread.
      const integration = new Integration((name) => this.state(name));
      const check = new StoredCheck();
      let docs: StagedDocument[];
      try {
        for (const d of snapshot.docs) {
          const value = storedValue(d.stored, d.id);
          integration.state(d.collection, d.id, d.stored, value, check.check(d.stored, value));
        }
        docs = integration.staged();
      } catch (e) {
        if (e instanceof DecodeError)
          throw new DbError('BAD_CHANGE', `a document state in the snapshot: ${e.message}`);
        throw e;
      }
      const version = this.vv.clone().merge(snapshot.version);
      // This log lacks what the snapshot folded in: peers behind it get a snapshot from here too.
      const horizon = this.horizon.clone();
      for (const [r, seq] of snapshot.version.entries()) if (r !== this.replicaId) horizon.advance(r, seq);
      await this.commit([], version, docs, [[META_HORIZON, encodeVersionVector(horizon)]]);
      this.horizon.merge(horizon);
      this.install('remote', [], version, docs);
      await this.flushPending();
    });
  }

  /** A document's stored form (JSON and encoded CRDT) as a sync server streams it; undefined if not kept here. */
  storedDocument(collection: string, id: string): Uint8Array | undefined {
    return this.collections.get(collection)?.storedForm(id);
  }

  /** A document's JSON as it is now (frozen), without a promise: for a sync server's per-change decisions. */
  documentValue(collection: string, id: string): Doc | undefined {
    return this.collections.get(collection)?.value(id);
  }

  /** The collections holding at least one live document, by name. */
  collectionNames(): string[] {
    return [...this.collections.values()]
      .filter((c) => c.size > 0)
      .map((c) => c.name)
      .sort();
  }

  /** The ids of `collection`'s live documents that `where` selects, in code-unit order. */
  documentIds(collection: string, where?: Where): string[] {
    return this.collections.get(collection)?.ids(where) ?? [];
  }

  /** A view of what changes would do to the documents as they are now (see `Preview`). */
  preview(): Preview {
    return new Preview((collection, id) => this.collections.get(collection)?.current(id));
  }

  /** The logged change `dot`, if the log still holds it. */
  async loggedChange(dot: Change['dot']): Promise<Change | undefined> {
    const [first] = await this.storage.changes(dot.replica, dot.seq - 1, 1);
    return first && first.seq === dot.seq ? decodeLogged(first.bytes) : undefined;
  }

  /** This replica's own logged changes after its `after`-th: what a server holding up to `after` lacks. */
  ownChanges(after: number): Promise<Change[]> {
    return this.exclusive(async () => {
      const out: Change[] = [];
      for (const s of await this.storage.changes(this.replicaId, after)) out.push(decodeLogged(s.bytes));
      return out;
    });
  }

  /** This replica's changes no sync server has acknowledged: its outbox (every own change if it never synced). */
  outbox(): Promise<Change[]> {
    return this.ownChanges(this.ackedSeq() ?? 0);
  }

  /** How many of this replica's changes a sync server was last known to hold (0 if none). */
  get acknowledgedSeq(): number {
    return this.ackedSeq() ?? 0;
  }

  /** How many changes the outbox holds, without reading them. */
  unacknowledged(): number {
    return Math.max(0, this.vv.get(this.replicaId) - (this.ackedSeq() ?? 0));
  }

  /** A meta entry as last committed (sync keeps its cursors there, see `integrate`). */
  metaValue(key: string): Uint8Array | undefined {
    return this.meta.get(key);
  }

  /**
   * Takes in what a sync server sent (see `ServerBatch`) as one durable commit with its `meta`.
   * Nothing is logged and the version does not move: the server, not this replica, is where
   * these changes are kept and forwarded from, and a partial replica has gaps in every other
   * replica's sequence. Whole states of documents this replica has never had are adopted
   * without decoding them. Throws `BAD_CHANGE`, taking in nothing, for anything malformed.
   */
  integrate(batch: ServerBatch): Promise<void> {
    return this.exclusive(async () => {
      const integration = new Integration((name) => this.state(name));
      const deferred = DeferredEvictions.decode(this.meta.get(META_EVICTING));
      const outbox = batch.evict?.length ? await this.outboxDocuments(this.ackedSeq() ?? 0) : undefined;
      const meta: Array<[string, Uint8Array]> = [...(batch.meta ?? [])];
      let docs: StagedDocument[];
      try {
        for (const e of batch.evict ?? []) {
          if (outbox?.has(docKey(e.collection, e.id))) deferred.add(e.collection, e.id);
          else this.evict(integration, e.collection, e.id, meta);
        }
        for (const d of batch.docs ?? []) {
          deferred.delete(d.collection, d.id);
          this.returned(d.collection, d.id, meta);
          integration.state(d.collection, d.id, d.stored, d.value);
        }
        for (const c of batch.changes ?? []) {
          checkChange(c);
          this.receive(c);
          deferred.delete(c.collection, c.docId);
          this.returned(c.collection, c.docId, meta);
          integration.join(c.collection, c.docId, c.ops);
        }
        for (const r of batch.replace ?? []) {
          this.returned(r.collection, r.id, meta);
          integration.replace(r.collection, r.id, r.stored, r.reapply);
        }
        docs = integration.staged();
      } catch (e) {
        if (e instanceof DecodeError || e instanceof SyntaxError)
          throw new DbError('BAD_CHANGE', `a document state from the server: ${e.message}`);
        throw e;
      }
      if (deferred.changed) meta.push([META_EVICTING, deferred.encode()]);
      await this.commit([], undefined, docs, meta);
      this.keepEvicted(meta);
      this.install('remote', batch.changes ?? [], undefined, docs);
    });
  }

  /**
   * Stages the eviction of a document; if this replica wrote to it, its state is kept out of
   * sight (`CollectionState.evicted`) by the meta entry pushed to `meta`.
   */
  private evict(
    integration: Integration,
    collection: string,
    id: string,
    meta: Array<[string, Uint8Array]>,
  ): void {
    integration.evict(collection, id);
    const state = this.state(collection);
    if ((state.current(id)?.state.ctx.vv.get(this.replicaId) ?? 0) > 0)
      meta.push([META_EVICTED + docKey(collection, id), state.storedForm(id)!]);
  }

  /** A document back from the server: its evicted state, if kept, is joined in and no longer kept apart. */
  private returned(collection: string, id: string, meta: Array<[string, Uint8Array]>): void {
    if (this.collections.get(collection)?.evicted.has(id))
      meta.push([META_EVICTED + docKey(collection, id), NONE]);
  }

  /** Puts committed (or loaded) evicted states where writes find them. */
  private keepEvicted(meta: Iterable<[string, Uint8Array]>): void {
    for (const [key, bytes] of meta) {
      if (!key.startsWith(META_EVICTED)) continue;
      const [collection, id] = key.slice(META_EVICTED.length).split('\u0000') as [string, string];
      const evicted = this.state(collection).evicted;
      if (bytes.length > 0) evicted.set(id, bytes);
      else evicted.delete(id);
    }
  }

  /** The documents this replica's own changes after its `after`-th touch, by `docKey`. */
  private async outboxDocuments(after: number): Promise<Set<string>> {
    const out = new Set<string>();
    if (this.vv.get(this.replicaId) <= after) return out;
    for (const s of await this.storage.changes(this.replicaId, after)) {
      const c = decodeLogged(s.bytes);
      out.add(docKey(c.collection, c.docId));
    }
    return out;
  }

  /** Advances the clock past a remote change's timestamp; one too far ahead is a bad change. */
  private receive(c: Change): void {
    try {
      this.clock.receive(c.hlc);
    } catch (e) {
      if (e instanceof ClockDriftError) throw new DbError('BAD_CHANGE', e.message);
      throw e;
    }
  }

  /**
   * Sets this replica's clock by a sync server's (`serverTime`, ms since the epoch, as its
   * `welcome` says): if the local clock is more than `CLOCK_TOLERANCE_MS` off, later writes are
   * stamped with corrected time. Returns the correction in force (server minus local, ms; 0
   * when none). A clock far ahead would otherwise have every write refused for drift.
   */
  correctClock(serverTime: number): number {
    const off = serverTime - this.clock.physicalNow();
    if (Math.abs(off) > CLOCK_TOLERANCE_MS) this.clock.correct(this.clock.offset + off);
    return this.clock.offset;
  }

  /** Commits meta entries durably (a sync server keeps its replica bindings there). */
  writeMeta(entries: ReadonlyArray<[string, Uint8Array]>): Promise<void> {
    return this.exclusive(() => this.commit([], undefined, [], entries));
  }

  /**
   * Records that a sync server durably holds this replica's changes up to `seq` (see `compact`),
   * and evicts the documents kept past their eviction that no unacknowledged change touches now.
   */
  acknowledged(seq: number): Promise<void> {
    return this.exclusive(async () => {
      if ((this.ackedSeq() ?? 0) >= seq) return;
      const enc = new Encoder();
      enc.uint(seq);
      const meta: Array<[string, Uint8Array]> = [[META_ACKED, enc.finishRaw()]];
      const deferred = DeferredEvictions.decode(this.meta.get(META_EVICTING));
      let docs: StagedDocument[] = [];
      if (deferred.size > 0) {
        const outbox = await this.outboxDocuments(seq);
        const integration = new Integration((name) => this.state(name));
        for (const { collection, id } of [...deferred.entries()]) {
          if (outbox.has(docKey(collection, id))) continue;
          this.evict(integration, collection, id, meta);
          deferred.delete(collection, id);
        }
        docs = integration.staged();
        if (deferred.changed) meta.push([META_EVICTING, deferred.encode()]);
      }
      await this.commit([], undefined, docs, meta);
      this.keepEvicted(meta);
      if (docs.length > 0) this.install('remote', [], undefined, docs);
    });
  }

  /** What `acknowledged` last recorded; undefined if this replica never synced with a server. */
  private ackedSeq(): number | undefined {
    const bytes = this.meta.get(META_ACKED);
    return bytes && new Decoder(bytes).uint();
  }

  /**
   * Drops logged changes up to `horizon` (default: everything applied). Document states are
   * always stored whole, so nothing is lost: a peer behind the horizon gets a snapshot. Once this
   * replica has synced with a server, its own changes the server has not acknowledged stay.
   */
  compact(horizon: VersionVector = this.vv): Promise<void> {
    return this.exclusive(async () => {
      const next = this.horizon.clone();
      // This replica's changes a sync server has not acknowledged are its outbox: kept.
      const outbox = this.ackedSeq() ?? Number.POSITIVE_INFINITY;
      for (const [r, seq] of horizon.entries())
        next.advance(r, Math.min(seq, this.vv.get(r), r === this.replicaId ? outbox : seq));
      await this.storage.compact(new Map(next.entries()));
      await this.storage.commit({
        changes: [],
        docs: [],
        meta: new Map([[META_HORIZON, encodeVersionVector(next)]]),
      });
      this.horizon.merge(next);
    });
  }

  /**
   * Starts syncing with a server (sync/SyncClient): a `ws://` URL, or a function that opens a
   * transport (tests and simulations use in-memory ones).
   */
  sync(target: string | (() => Promise<Transport>), options: SyncOptions): SyncClient {
    return new SyncClient(this, target, options);
  }

  /** Waits for running writes, then closes storage; later calls reject with `CLOSED`. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue;
    this.closed = true;
    await this.storage.close();
  }
}

function checkChange(c: Change): void {
  if (
    typeof c !== 'object' ||
    c === null ||
    !(c.ops instanceof ORMap) ||
    !Number.isSafeInteger(c.dot?.seq) ||
    c.dot.seq < 1 ||
    typeof c.collection !== 'string' ||
    typeof c.docId !== 'string'
  ) {
    throw new DbError('BAD_CHANGE', 'malformed change');
  }
  try {
    checkCollectionName(c.collection);
    checkId(c.docId);
  } catch (e) {
    throw new DbError('BAD_CHANGE', (e as Error).message);
  }
}
