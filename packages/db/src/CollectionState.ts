import { deepFreeze, type Interner } from '@concord/crdt/internal';
import { AscendingMap } from './AscendingMap.js';
import { Document } from './Document.js';
import { Index } from './query/Index.js';
import { matches, type Query, sorter, type Where } from './query/Query.js';
import type { StandardSchemaV1 } from './Schema.js';
import { StagedForm } from './StagedForm.js';
import { storedDocument, storedValue } from './StoredDocument.js';
import type { DeferringStorage } from './storage/Storage.js';
import type { PropertyKind } from './values.js';
import { WrittenChange, WrittenShapes } from './WrittenDocument.js';

/** A document as queries return it: its JSON (frozen) with its id. */
export type Doc<T extends object = Record<string, unknown>> = Readonly<T> & { readonly _id: string };

/** Decoded documents kept per collection: those written or merged most recently. */
const DECODED = 1024;
/** Stored forms read per run of deferred loading: a few milliseconds between other work. */
const DEFERRED_RUN = 2000;

/**
 * A document's stored form (its JSON and encoded CRDT, see StoredDocument), or — where nothing
 * has asked the bytes of yet — what makes it: the change that wrote the document whole, or the
 * staged state (`StagedForm`, whose document `decoded` holds while it is unmade).
 */
type Stored = Uint8Array | WrittenChange | StagedForm;

/**
 * One collection's materialised state: each document's stored form, each live document's JSON
 * (frozen, handed out as is), and the secondary indexes over that JSON. A document's CRDT is decoded when a write or merge needs it; the state
 * a commit installs stays decoded while it is among the `DECODED` most recently installed (or
 * read for its conflicts): a catalogue is mostly read, and a decoded document takes several
 * times the memory of its stored form.
 */
export class CollectionState {
  private readonly stored = new AscendingMap<Stored>();
  /** Where the stored forms of documents loaded as JSON only are read (see `loadJson`), until all are in `stored`. */
  private deferred: { storage: DeferringStorage; removed: Set<string>; after: string } | undefined;
  /** Decoded CRDTs, least recently used first. */
  private readonly decoded = new Map<string, Document>();
  /** The id `decoded` holds last (its most recently used), if known. */
  private newest: string | undefined;
  /** Live documents' JSON by id; see `values`. */
  private readonly byId = new Map<string, Doc>();
  /**
   * Documents loaded as JSON (`loadJson`) or adopted from a sync server (`adopt`) and not yet put
   * in `byId` (empty while this is set): a reopened or freshly synced catalogue is often read
   * whole (a list of labels) before anything asks for one product by id, and putting 100,000 ids
   * in a map takes 30–90 ms beside a 160–250 ms parse (measured by hand). A scan reads them
   * here; anything else puts them in the map first (`values`) — but a document read or written
   * by id, where its stored form is at hand (not while `deferred`), goes to `since` instead.
   */
  private loaded: Doc[] | undefined;
  /**
   * While `loaded` is set: the documents read or installed by id since (a removed one as
   * undefined), over `loaded`'s. An hourly update of 1% of a catalogue just synced or loaded
   * whole read and wrote a thousand documents, and built the id map of 100,000 to do it (half
   * the time of the update: retail/100k in bench/RESULTS.md).
   */
  private readonly since = new Map<string, Doc | undefined>();
  /** Live documents, while `loaded` is set. */
  private live = 0;
  readonly indexes = new Map<string, Index>();
  /** What documents written whole here share (`WrittenDocument`). */
  readonly shapes = new WrittenShapes();
  /** The documents' runtime schema (`CollectionSchema.schema`), checked on local writes. */
  schema: StandardSchemaV1 | undefined;
  /**
   * The stored forms of documents a sync server evicted (they left this replica's
   * subscriptions) after this replica had written to them, by id — out of sight, but what its
   * next write to one, or the state the server sends when one returns, builds on. A document's
   * dots are numbered per replica within it: a replica that forgot a document holding its dots
   * would number its next write from 1 again, and a reused dot removes what the earlier one
   * wrote (issue 16, item 4: a counter vanished). The database keeps them in its meta.
   */
  readonly evicted = new Map<string, Uint8Array>();

  constructor(
    readonly name: string,
    readonly kinds: ReadonlyMap<string, PropertyKind>,
    /** The database's: its documents' decoders share it. */
    readonly interner: Interner,
  ) {}

  /** The document's CRDT to read (decoded now and kept if need be), or undefined if this replica never had it. */
  current(id: string): Document | undefined {
    const doc = this.decoded.get(id) ?? this.decode(id);
    if (doc) this.keepDecoded(id, doc);
    return doc;
  }

  /** Whether this replica has ever had the document (a removed one included). */
  has(id: string): boolean {
    return this.stored.has(id) || this.isDeferred(id);
  }

  /** Whether this replica has a state of the document: live, removed, or evicted after writing to it. */
  knows(id: string): boolean {
    return this.has(id) || (this.evicted.size > 0 && this.evicted.has(id));
  }

  /** A commit replaces the document's state: a staged form of the one before lets go of its document. */
  private replaced(id: string): void {
    const before = this.stored.get(id);
    if (before instanceof StagedForm) before.supersede();
  }

  /** Whether the document was loaded as JSON only and its stored form is still to be read. */
  private isDeferred(id: string): boolean {
    const d = this.deferred;
    return d !== undefined && !this.stored.has(id) && (this.values.has(id) || d.removed.has(id));
  }

  /**
   * Installs documents as a deferring storage loads them: `live`, the texts of JSON arrays of the
   * live ones, each parsed at once; their stored forms are read later (`loadDeferred`, or one by one).
   */
  loadJson(storage: DeferringStorage, live: readonly string[], removed: readonly string[]): void {
    const values: Doc[] = [];
    const indexes = [...this.indexes.values()];
    for (const text of live) {
      for (const value of JSON.parse(text) as Doc[]) {
        deepFreeze(value);
        for (const index of indexes) index.add(value._id, value);
        values.push(value);
      }
    }
    if (this.byId.size === 0 && !this.loaded) {
      this.loaded = values;
      this.live = values.length;
    } else for (const value of values) this.values.set(value._id, value);
    this.deferred = { storage, removed: new Set(removed), after: '' };
  }

  /** Live documents' JSON by id, with those `loaded` holds put in. */
  private get values(): Map<string, Doc> {
    if (this.loaded) {
      for (const value of this.loaded) if (!this.since.has(value._id)) this.byId.set(value._id, value);
      for (const [id, value] of this.since) if (value) this.byId.set(id, value);
      this.loaded = undefined;
      this.since.clear();
    }
    return this.byId;
  }

  /**
   * Live documents' JSON, each with its id, for a scan: `loaded` as it is while nothing was read
   * or installed by id since (else the id map, built first).
   */
  private all(): Iterable<Doc> {
    return this.loaded && this.since.size === 0 ? this.loaded : this.values.values();
  }

  /** Reads the next run of deferred stored forms; true while some remain. */
  loadDeferred(): boolean {
    const d = this.deferred;
    if (!d) return false;
    const run = d.storage.storedForms(this.name, d.after, DEFERRED_RUN);
    // A document written, removed or evicted since the JSON was loaded has its state here already,
    // or is gone. While `loaded` holds the JSON nothing was installed since (an install puts it in
    // the id map), so the run's documents `stored` lacks are all to be read: asking the id map
    // would build it (100,000 entries, a tenth of a catalogue's reload in Chromium).
    for (const { id, state } of run)
      if (this.loaded ? !this.stored.has(id) : this.isDeferred(id)) this.stored.set(id, state);
    if (run.length < DEFERRED_RUN) {
      this.deferred = undefined;
      return false;
    }
    d.after = run[run.length - 1]!.id;
    return true;
  }

  /**
   * A private copy of the document's CRDT to change (an empty one if this replica never had it):
   * a copy of the decoded one, or a fresh decoding — which is a copy already, so it is not kept
   * (the state the change installs is).
   */
  writable(id: string): Document {
    const doc = this.decoded.get(id);
    if (doc) return doc.clone();
    const evicted = this.evicted.get(id);
    return this.decode(id) ?? (evicted ? storedDocument(evicted, undefined, this.interner) : new Document());
  }

  /** The document's CRDT, decoded from its stored form (or made by the change that wrote it). */
  private decode(id: string): Document | undefined {
    const s = this.stored.get(id);
    if (s instanceof WrittenChange) return s.document();
    const bytes = s instanceof StagedForm ? this.bytesOf(id, s) : (s ?? this.storedForm(id));
    return bytes && storedDocument(bytes, this.value(id), this.interner);
  }

  /** Every document's stored form, removed ones included (reading those still deferred). */
  *storedForms(): IterableIterator<[string, Uint8Array]> {
    while (this.loadDeferred());
    for (const [id, s] of this.stored) yield [id, s instanceof Uint8Array ? s : this.bytesOf(id, s)];
  }

  /** The stored form a change or a staged state makes, kept in its place from now on. */
  private bytesOf(id: string, unmade: WrittenChange | StagedForm): Uint8Array {
    const bytes = unmade.state;
    this.stored.set(id, bytes);
    return bytes;
  }

  /**
   * Keeps `doc` decoded as the most recently used, making the stored form of the one that leaves
   * (its document goes). The most recent already (a hot document, updated again and again) stays
   * where it is: taking it out and in again left a deleted entry in the map each time, and the
   * map was rebuilt every few updates.
   */
  private keepDecoded(id: string, doc: Document): void {
    if (this.newest !== id) this.forgetDecoded(id);
    this.decoded.set(id, doc);
    this.newest = id;
    if (this.decoded.size <= DECODED) return;
    const leaving = this.decoded.keys().next().value!;
    this.decoded.delete(leaving);
    const s = this.stored.get(leaving);
    if (s instanceof StagedForm) this.bytesOf(leaving, s);
  }

  private forgetDecoded(id: string): void {
    if (this.decoded.delete(id) && this.newest === id) this.newest = undefined;
  }

  value(id: string): Doc | undefined {
    if (!this.loaded || this.deferred) return this.values.get(id);
    if (this.since.has(id)) return this.since.get(id);
    // One of `loaded`'s, or none: its JSON read again from its stored form, and kept over it.
    // (A document installed since is in `since`; `stored` holds loaded ones' as bytes.)
    const s = this.stored.get(id);
    if (!(s instanceof Uint8Array)) return undefined;
    const value = storedValue(s, id);
    if (value) deepFreeze(value);
    this.since.set(id, value);
    return value;
  }

  get size(): number {
    return this.loaded ? this.live : this.byId.size;
  }

  /** Installs a document's new state, its JSON and its stored form; returns its JSON before and after. */
  set(
    id: string,
    doc: Document,
    value: Doc | undefined,
    stored: Stored,
  ): { before: Doc | undefined; after: Doc | undefined } {
    this.replaced(id);
    this.stored.set(id, stored);
    this.keepDecoded(id, doc);
    return this.setValue(id, value);
  }

  /** Installs a document as storage keeps it: its JSON now, its CRDT when first needed. */
  load(
    id: string,
    stored: Stored,
    value = storedValue(stored instanceof Uint8Array ? stored : stored.state),
  ): { before: Doc | undefined; after: Doc | undefined } {
    this.replaced(id);
    this.stored.set(id, stored);
    this.forgetDecoded(id);
    return this.setValue(id, value);
  }

  /**
   * Installs a live document this replica did not know (a whole state a sync server sent,
   * adopted; `value._id` is `id`): `load` without looking for what it replaces. Into a
   * collection holding nothing by id yet, its JSON joins those `loadJson` left out of the id
   * map: a catalogue synced and then scanned never builds it (see `loaded`).
   */
  adopt(id: string, stored: Uint8Array, value: Doc): { before: undefined; after: Doc } {
    this.stored.set(id, stored);
    const after = deepFreeze(value) as Doc;
    if (this.loaded) {
      // Forgotten since it was loaded (`delete`), and back.
      if (this.since.has(id)) this.since.set(id, after);
      else this.loaded.push(after);
      this.live++;
    } else if (this.byId.size === 0) {
      this.loaded = [after];
      this.live = 1;
    } else this.byId.set(id, after);
    for (const index of this.indexes.values()) index.add(id, after);
    return { before: undefined, after };
  }

  /** Forgets the document: this replica no longer keeps it (it left a partial replica's subscriptions). */
  delete(id: string): { before: Doc | undefined; after: Doc | undefined } {
    this.replaced(id);
    this.stored.delete(id);
    this.deferred?.removed.delete(id);
    this.forgetDecoded(id);
    return this.setValue(id, undefined);
  }

  /** The document's stored form (JSON and encoded CRDT), as a sync server sends it. */
  storedForm(id: string): Uint8Array | undefined {
    const s = this.stored.get(id);
    if (s instanceof WrittenChange || s instanceof StagedForm) return this.bytesOf(id, s);
    if (s || !this.isDeferred(id)) return s;
    const read = this.deferred!.storage.storedForm(this.name, id);
    if (read) this.stored.set(id, read);
    return read;
  }

  /** The ids of live documents `where` selects, in code-unit order (the order snapshots stream in). */
  ids(where: Where | undefined): string[] {
    const candidates = Index.plan(this.indexes, where)?.ids;
    const out: string[] = [];
    if (candidates) {
      for (const id of candidates) {
        const v = this.value(id);
        if (v && matches(v, where)) out.push(id);
      }
    } else for (const v of this.all()) if (matches(v, where)) out.push(v._id);
    return out.sort();
  }

  private setValue(id: string, value: Doc | undefined): { before: Doc | undefined; after: Doc | undefined } {
    const before = this.value(id);
    const after = value && (deepFreeze(value) as Doc);
    if (this.loaded && !this.deferred) {
      this.since.set(id, after);
      this.live += (after ? 1 : 0) - (before ? 1 : 0);
    } else if (after) this.values.set(id, after);
    else this.values.delete(id);
    if (this.indexes.size > 0)
      for (const index of this.indexes.values()) {
        if (before) index.remove(id, before);
        if (after) index.add(id, after);
      }
    return { before, after };
  }

  addIndex(path: string): void {
    if (this.indexes.has(path)) return;
    const index = new Index(path);
    for (const v of this.all()) index.add(v._id, v);
    this.indexes.set(path, index);
  }

  /** Which index a query would use and how many documents it would examine. */
  explain(q: Query): { index: string | undefined; examined: number } {
    const plan = Index.plan(this.indexes, q.where);
    return { index: plan?.path, examined: plan ? plan.ids.size : this.size };
  }

  find(q: Query): Doc[] {
    const candidates = Index.plan(this.indexes, q.where)?.ids;
    const out: Doc[] = [];
    if (candidates) {
      for (const id of candidates) {
        const v = this.value(id);
        if (v && matches(v, q.where)) out.push(v);
      }
    } else {
      for (const v of this.all()) if (matches(v, q.where)) out.push(v);
    }
    out.sort(sorter(q.sort));
    const skip = q.skip ?? 0;
    if (skip === 0 && q.limit === undefined) return out;
    return out.slice(skip, q.limit === undefined ? undefined : skip + q.limit);
  }
}
