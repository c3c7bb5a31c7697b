import {
  ClockDriftError,
  decodeVersionVector,
  encodeVersionVector,
  HybridLogicalClock,
  newReplicaId,
  type ReplicaId,
  replicaId as toReplicaId,
  VersionVector,
} from '@concord/crdt';
import { Decoder, Interner } from '@concord/crdt/internal';
import { type Change, decodeLogged, encodeLogged } from './Change.js';
import type { Collection } from './Collection.js';
import { CollectionState, type Doc } from './CollectionState.js';
import type { ChangeEvent, CollectionSchema, DatabaseOptions } from './Database.js';
import type { WriteContext } from './Document.js';
import { DbError } from './errors.js';
import { checkCollectionName, checkDocument } from './limits.js';
import { META_ACKED, META_HORIZON, META_REPLICA, META_VERSION } from './metaKeys.js';
import { PeerExchange } from './PeerExchange.js';
import { Preview } from './Preview.js';
import type { Where } from './query/Query.js';
import { checkSchema, type StandardSchemaV1 } from './Schema.js';
import { ServerState } from './ServerState.js';
import { type StagedDocument, stage } from './StagedDocument.js';
import { MemoryStorage } from './storage/MemoryStorage.js';
import {
  isDeferring,
  type PackedDocs,
  type Storage,
  type StoredChange,
  type StoredDoc,
} from './storage/Storage.js';
import { Transaction } from './Transaction.js';
import { WrittenChange } from './WrittenDocument.js';

type Touched = Array<ChangeEvent['docs'][number]>;

const utf8 = new TextEncoder();
/** The meta of a commit that writes none. */
const NO_META: ReadonlyMap<string, Uint8Array> = new Map();

/** The browser's `requestIdleCallback`, where there is one (not in Node, nor in Safari). */
const IDLE = (
  globalThis as {
    requestIdleCallback?: (run: () => void, options: { timeout: number }) => unknown;
  }
).requestIdleCallback?.bind(globalThis);

/**
 * The replica core under a `Database`: its storage and meta, its id and clock, its version and
 * compaction horizon, its collections' materialised states, and the write queue — every write
 * (a local transaction, remote changes, a server's batch) runs `exclusive`ly, is staged on
 * copies, made durable by `commit` and only then made visible by `install`, so an acknowledged
 * write survives a crash and a failed one leaves nothing behind. What peers exchange is in
 * `PeerExchange`, what a sync client keeps of its server in `ServerState`; the read API here
 * (stored forms, values, ids, previews, the log) is what a sync server builds on.
 */
export class Replica {
  readonly collections = new Map<string, CollectionState>();

  /** The user-facing collections (`Database.collection`), told of every commit that touches theirs. */
  readonly facades = new Map<string, Collection>();

  /** Strings this replica's decoders read (field names, replica ids), kept for the next: per database, never per process. */
  readonly interner = new Interner();

  private readonly listeners = new Set<(e: ChangeEvent) => void>();

  /**
   * The version the last change event carried, shared by the events after it until the version
   * moves: a sync client's every update leaves it where it is, and a copy per event is garbage.
   */
  private published: VersionVector | undefined;

  private queue: Promise<unknown> = Promise.resolve();

  private closed = false;

  /** Remote changes from peers, their buffer, snapshots and compaction. */
  readonly peers: PeerExchange;
  /** This replica's bookkeeping of its sync server: what it acknowledged, evicted, forked. */
  readonly server: ServerState;

  private constructor(
    readonly storage: Storage,
    /** Meta entries as last committed (sync keeps its cursors there). */
    readonly meta: Map<string, Uint8Array>,
    /** The replica id changes only on a fork (`ServerState.fork`). */
    public replica: ReplicaId,
    public clock: HybridLogicalClock,
    /** What this replica has applied (its own changes and everyone else's); changed only by `install`. */
    readonly vv: VersionVector,
    /** How far the log was compacted: peers behind it get a snapshot. */
    readonly horizon: VersionVector,
    readonly options: DatabaseOptions,
  ) {
    this.peers = new PeerExchange(this);
    this.server = new ServerState(this);
  }

  static async open(options: DatabaseOptions = {}): Promise<Replica> {
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
    const db = new Replica(
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
    db.server.keepEvicted(meta);
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
    const run = () => {
      if (this.closed) return;
      this.exclusive(async () => {
        for (const c of this.collections.values()) if (c.loadDeferred()) return this.loadDeferred();
      }).catch(() => {
        // Storage failed to read (or closed meanwhile): what is still deferred is read when needed.
      });
    };
    // In a browser, when the page is idle: a reload's page then draws what it read first. Its
    // first run, right after the open, came before the page's first read of its documents, and
    // with it the storage's map of latest states (IndexedDB: `Unmerged`).
    const idle = this.options.timers ? undefined : IDLE;
    if (idle) idle(run, { timeout: 1_000 });
    else (this.options.timers ?? globalThis).setTimeout(run, 0);
  }

  /** The runtime schema of `collection`'s documents, if one was given (a sync server checks pushes with it). */
  schemaOf(collection: string): StandardSchemaV1 | undefined {
    return this.collections.get(collection)?.schema ?? this.options.collections?.[collection]?.schema;
  }

  state(name: string, schema?: CollectionSchema<object>): CollectionState {
    let state = this.collections.get(name);
    if (!state) {
      checkCollectionName(name);
      const declared = this.options.collections?.[name];
      if (!declared && this.options.strict)
        throw new DbError('UNKNOWN_COLLECTION', `no collection ${name} in the schema`);
      const kinds = new Map(Object.entries({ ...declared?.properties, ...schema?.properties }));
      state = new CollectionState(name, kinds, this.interner);
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
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new DbError('CLOSED', 'the database is closed'));
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** `transaction`'s work, committing `meta` with it (inside `exclusive`). */
  async write<T>(fn: (tx: Transaction) => T, meta: ReadonlyArray<[string, Uint8Array]> = []): Promise<T> {
    const { result, changes, version, docs } = this.stageTransaction(fn);
    if (changes.length === 0 && meta.length === 0) return result;
    for (const d of docs)
      if (d.collection.schema && d.value)
        await checkSchema(d.collection.schema, d.collection.name, d.id, d.value);
    await this.commit(changes, version, docs, meta);
    this.install('local', changes, version, docs);
    return result;
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

  /**
   * Makes a commit durable; `version` is written only when it moved (sync's `integrate` never
   * moves it). `packed`: `docs` as the deflated bytes they arrived in (see `Commit.packed`).
   */
  async commit(
    changes: readonly Change[],
    version: VersionVector | undefined,
    docs: readonly StagedDocument[],
    extraMeta: ReadonlyArray<[string, Uint8Array]> = [],
    packed?: PackedDocs,
  ): Promise<void> {
    // A new document's change is its own log entry and stored state, a staged state its own stored
    // form (`StagedForm`): each encoded when storage reads it.
    const stored: StoredChange[] = changes.map((c) =>
      c instanceof WrittenChange ? c : { replica: c.dot.replica, seq: c.dot.seq, bytes: encodeLogged(c) },
    );
    const storedDocs: StoredDoc[] = docs.map((d) =>
      d.stored instanceof Uint8Array
        ? { collection: d.collection.name, id: d.id, state: d.stored }
        : d.stored,
    );
    // Most of a sync client's commits (a live update each) write no meta: no map is made for them.
    let meta: ReadonlyMap<string, Uint8Array> = NO_META;
    if (extraMeta.length > 0 || version) {
      const entries = new Map<string, Uint8Array>(extraMeta);
      if (version) entries.set(META_VERSION, encodeVersionVector(version));
      meta = entries;
    }
    await this.storage.commit({ changes: stored, docs: storedDocs, meta, packed });
    for (const [k, v] of extraMeta) this.meta.set(k, v);
  }

  /**
   * Makes a durable commit visible: the version and the documents change in one synchronous
   * step, so nothing — `version()`, `snapshot()` — ever sees a version without its documents.
   */
  install(
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
    // One record per document (callers stage each document once), for live queries and listeners
    // alike; grouped by collection only when the batch spans several (a sync chunk is of one).
    const changed: Touched = [];
    let several = false;
    for (const d of docs) {
      const { before, after } =
        d.stored instanceof Uint8Array && d.stored.length === 0
          ? d.collection.delete(d.id)
          : d.doc
            ? d.collection.set(d.id, d.doc, d.value, d.stored)
            : d.adopted
              ? d.collection.adopt(d.id, d.stored as Uint8Array, d.value!)
              : d.collection.load(d.id, d.stored, d.value);
      changed.push({ collection: d.collection.name, docId: d.id, before, after });
      several ||= d.collection !== docs[0]!.collection;
    }
    if (!several) {
      if (docs.length > 0) this.facades.get(docs[0]!.collection.name)?.notify(changed);
    } else {
      const byCollection = new Map<string, Touched>();
      for (const record of changed) {
        const touched = byCollection.get(record.collection);
        if (touched) touched.push(record);
        else byCollection.set(record.collection, [record]);
      }
      for (const [name, touched] of byCollection) this.facades.get(name)?.notify(touched);
    }
    // A batch that only moved sync bookkeeping (a cursor) changed nothing anyone could observe.
    if (this.listeners.size === 0 || (changes.length === 0 && docs.length === 0)) return;
    const event: ChangeEvent = { origin, changes, docs: changed, version: this.published ?? this.vv.clone() };
    this.published = event.version;
    for (const l of this.listeners) l(event);
  }

  /** Advances the clock past a remote change's timestamp; one too far ahead is a bad change. */
  receive(c: Change): void {
    try {
      this.clock.receive(c.hlc);
    } catch (e) {
      if (e instanceof ClockDriftError) throw new DbError('BAD_CHANGE', e.message);
      throw e;
    }
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
    return new Preview(
      (collection, id) => this.collections.get(collection)?.current(id),
      (collection) => ({
        replica: this.replicaId,
        time: this.clock.now(),
        kinds: this.state(collection).kinds,
      }),
    );
  }

  /** The logged change `dot`, if the log still holds it. */
  async loggedChange(dot: Change['dot']): Promise<Change | undefined> {
    const [first] = await this.storage.changes(dot.replica, dot.seq - 1, 1);
    return first && first.seq === dot.seq ? decodeLogged(first.bytes, this.interner) : undefined;
  }

  /** This replica's own logged changes after its `after`-th: what a server holding up to `after` lacks. */
  ownChanges(after: number): Promise<Change[]> {
    return this.exclusive(async () => {
      const out: Change[] = [];
      for (const s of await this.storage.changes(this.replicaId, after))
        out.push(decodeLogged(s.bytes, this.interner));
      return out;
    });
  }

  /** A meta entry as last committed (sync keeps its cursors there, see `integrate`). */
  metaValue(key: string): Uint8Array | undefined {
    return this.meta.get(key);
  }

  /** Commits meta entries durably (a sync server keeps its replica bindings there). */
  writeMeta(entries: ReadonlyArray<[string, Uint8Array]>): Promise<void> {
    return this.exclusive(() => this.commit([], undefined, [], entries));
  }

  /** What `acknowledged` last recorded; undefined if this replica never synced with a server. */
  ackedSeq(): number | undefined {
    const bytes = this.meta.get(META_ACKED);
    return bytes && new Decoder(bytes).uint();
  }

  /** Waits for running writes, then closes storage; later calls reject with `CLOSED`. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue;
    this.closed = true;
    await this.storage.close();
  }
}
