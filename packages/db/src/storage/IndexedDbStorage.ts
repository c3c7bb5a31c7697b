/// <reference lib="dom" />
import type { ReplicaId } from '@concord/crdt';
import { Decoder } from '@concord/crdt/internal';
import type { DBSchema, IDBPDatabase, IDBPTransaction, StoreNames } from 'idb';
import { inflateMessageAsync, prepareInflating } from '../Deflated.js';
import { readStoredForms } from '../StoredDocument.js';
import { Backlog } from './Backlog.js';
import { JsonTexts } from './JsonTexts.js';
import type {
  CollectionJson,
  Commit,
  DeferringStorage,
  PackedDocs,
  StoredChange,
  StoredDoc,
} from './Storage.js';

/** A document written on its own: `seq` orders it against runs (absent in version 1's rows: 0). */
interface DocRow extends StoredDoc {
  readonly seq?: number;
}

/**
 * The documents of one collection in one large commit, in one record: their ids (one JSON text:
 * a string structured-clones far quicker than an array of them) and their states — end to end
 * (an empty state deletes), or, for documents a sync chunk brought and the database adopted as
 * they came, the chunk's deflated frame (`Commit.packed`). `seq` orders it against rows and
 * other runs.
 */
type DocRun = {
  readonly seq: number;
  readonly collection: string;
  readonly ids: string;
} & (
  | {
      readonly states: Uint8Array;
      /** Where each state ends in `states`. */
      readonly ends: Uint32Array;
    }
  | { readonly packed: Uint8Array; readonly at: number }
);

interface Schema extends DBSchema {
  meta: { key: string; value: Uint8Array };
  docs: { key: [string, string]; value: DocRow };
  runs: { key: [number, string]; value: DocRun };
  /** The last commit's sequence number, under `seq`. */
  counters: { key: string; value: number };
  changes: { key: [string, number]; value: StoredChange };
  attachments: { key: string; value: Uint8Array };
}

/**
 * Commits of at least this many documents of a collection store them as one run: an initial
 * sync's chunks of a thousand documents each become one record instead of a thousand.
 * IndexedDB's cost is per record — a put structured-clones its value on the page's thread,
 * ~30 µs each, and a load deserialises each row — so a 100,000-product catalogue took 3.3 s of
 * puts and 0.5 s to read back in Chromium (profiled), where a hundred runs take milliseconds.
 * Past a record's first 64 KiB the cost is per byte (Chromium wraps a large value in a blob, on
 * the page's thread: ~6–12 ms per MB, measured by hand), so a run a sync chunk brought keeps the chunk's
 * deflated frame — a tenth of the bytes — and is inflated when read back.
 */
const RUN = 64;

type StoreName = StoreNames<Schema>;

/** What a load found: each document's latest state, by collection and id. */
type Latest = Map<string, Map<string, Uint8Array>>;

/**
 * A run of runs apart (`RunsApart`) whose states a reload read but left out of the map of latest
 * states: the page needs their JSON at once, their states only for a write or a merge, which
 * reads the map later (the database's deferred loading, in idle time). Put in the map at once,
 * a reload of 100,000 products was ~50 ms later in Chromium (A/B by hand, with that loading
 * moved to idle time: medians of 15 reloads 1,084 and 1,014 ms). `over`: its documents
 * a row wrote since (the row's state is latest); an empty state is a deletion, no document.
 */
interface Unmerged {
  readonly collection: string;
  readonly ids: readonly string[];
  readonly states: readonly Uint8Array[];
  readonly over: ReadonlySet<string> | undefined;
}

/**
 * The browser's IndexedDB through `idb`. A commit is one readwrite transaction over every store,
 * opened with `durability: 'strict'` so that it completes only once flushed to disk (browsers
 * default to 'relaxed'). Values are structured-cloned, so stored bytes never alias the caller's.
 *
 * Documents live in two forms: rows (`docs`, one per document, what small commits write) and
 * runs (`runs`, per collection of a large commit). Every commit takes the next sequence
 * number; a document's state is the one written last — by sequence — in either form. Loading
 * drops what a later write superseded: rows older than a run holding their document, runs with
 * nothing left, deletions that no longer hide anything.
 *
 * It defers like SQLite (`DeferringStorage`): `loadJson` hands the database each collection's
 * JSON as a few texts — the documents' JSON bytes copied end to end and decoded at once — and
 * keeps the stored forms it read, which the database then takes without waiting.
 */
export class IndexedDbStorage implements DeferringStorage {
  /** The stored forms `loadJson` read, kept current by later commits; its ids sorted, per collection. */
  private forms: Latest | undefined;
  /** Runs' states `loadJson` read and left out of `forms` until it is next read (see `Unmerged`). */
  private unmerged: Unmerged[] = [];
  private readonly sorted = new Map<string, string[]>();
  /** The documents committed since, put in `forms` when it is next read (most never are). */
  private backlog = new Backlog();
  /** How many stored forms `forms` holds. */
  private formsCount = 0;

  private constructor(
    private readonly db: IDBPDatabase<Schema>,
    private readonly unwrap: (tx: IDBPTransaction<Schema, StoreName[], 'readwrite'>) => IDBTransaction,
    /** The last commit's sequence number. */
    private seq: number,
  ) {}

  static async open(name: string): Promise<IndexedDbStorage> {
    // A load inflates the packed runs: their worker starts while the database opens.
    prepareInflating();
    const { openDB, unwrap } = await import('idb');
    // Version 3 writes packed runs, which version 2's code would misread: it cannot open them.
    const db = await openDB<Schema>(name, 3, {
      upgrade(db, from) {
        if (from < 1) {
          db.createObjectStore('meta');
          db.createObjectStore('docs', { keyPath: ['collection', 'id'] });
          db.createObjectStore('changes', { keyPath: ['replica', 'seq'] });
          db.createObjectStore('attachments');
        }
        if (from < 2) {
          db.createObjectStore('runs', { keyPath: ['seq', 'collection'] });
          db.createObjectStore('counters');
        }
      },
    });
    return new IndexedDbStorage(db, unwrap, (await db.get('counters', 'seq')) ?? 0);
  }

  async load(): Promise<{ meta: Map<string, Uint8Array>; docs: StoredDoc[] }> {
    const { meta, latest } = await this.read();
    const docs: StoredDoc[] = [];
    for (const [collection, states] of latest)
      for (const [id, state] of states) docs.push({ collection, id, state });
    return { meta, docs };
  }

  async loadJson(): Promise<{ meta: Map<string, Uint8Array>; collections: CollectionJson[] }> {
    const json = new JsonTexts();
    const { meta, latest, unmerged } = await this.read(json);
    this.forms = latest;
    this.unmerged = unmerged;
    this.sorted.clear();
    this.backlog = new Backlog();
    this.formsCount = 0;
    for (const states of latest.values()) this.formsCount += states.size;
    for (const run of unmerged) this.formsCount += run.ids.length;
    return { meta, collections: json.collections() };
  }

  storedForm(collection: string, id: string): Uint8Array | undefined {
    this.fold();
    return this.forms?.get(collection)?.get(id);
  }

  storedForms(collection: string, after: string, limit: number): StoredDoc[] {
    this.fold();
    const states = this.forms?.get(collection);
    if (!states) return [];
    const ids = entry(this.sorted, collection, () => [...states.keys()].sort());
    let lo = 0;
    let hi = ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ids[mid]! <= after) lo = mid + 1;
      else hi = mid;
    }
    return ids.slice(lo, lo + limit).map((id) => ({ collection, id, state: states.get(id)! }));
  }

  /**
   * Every document's latest state, and the meta; `json`, if given, is told each one as it is
   * read. Read-write: what the reads show superseded is deleted in the same transaction, before
   * any commit can write again.
   */
  private async read(
    json?: JsonTexts,
  ): Promise<{ meta: Map<string, Uint8Array>; latest: Latest; unmerged: Unmerged[] }> {
    const tx = this.db.transaction(['meta', 'docs', 'runs'], 'readwrite');
    const [keys, values, rows, runs] = await Promise.all([
      tx.objectStore('meta').getAllKeys(),
      tx.objectStore('meta').getAll(),
      tx.objectStore('docs').getAll(),
      tx.objectStore('runs').getAll(),
    ]);
    // Packed runs start inflating (beside this thread, in browsers) before their ids are read:
    // a reload's page waited for the worker after that, idle. A run found dead below was
    // inflated for nothing, which happens once: it is deleted.
    const inflating = runs.map((run) => {
      if (!('packed' in run)) return undefined;
      const inflated = inflateMessageAsync(run.packed);
      inflated.catch(() => undefined); // a dead run's, or one read() fails before awaiting: awaited or dropped
      return inflated;
    });
    const meta = new Map<string, Uint8Array>();
    for (const [i, k] of keys.entries()) meta.set(k, values[i]!);

    // Runs in order of sequence, then rows where later. When no document is in two runs (an
    // initial sync's chunks, as stored), every run's states are latest but where a row wrote
    // one since, and no map is needed to tell (`RunsApart`). Otherwise, until its state is read,
    // a document's entry holds its run's mark — an empty array of the run's own, telling which
    // run the latest state is in without a second map; `live`: how many latest states each run
    // holds. (A reload reads 100,000 documents while the page waits; each map operation on them
    // showed in its profile.)
    const latest: Latest = new Map();
    const ids = runs.map((run) => JSON.parse(run.ids) as string[]);
    const apart = RunsApart.of(runs, ids);
    const marks = runs.map(() => new Uint8Array(0));
    const runOf = new Map<Uint8Array, number>(marks.map((mark, r) => [mark, r]));
    const live = new Array<number>(runs.length).fill(0);
    for (let r = 0; r < runs.length; r++) {
      const states = entry(latest, runs[r]!.collection);
      const runIds = ids[r]!;
      live[r]! += runIds.length;
      if (apart) continue;
      for (let i = 0; i < runIds.length; i++) {
        const was = states.get(runIds[i]!);
        if (was !== undefined) live[runOf.get(was)!]!--;
        states.set(runIds[i]!, marks[r]!);
      }
    }
    const raw = this.unwrap(tx);
    // A row is a document's only row (its key is the document's): what it finds is a run's.
    const latestRows: DocRow[] = [];
    /** Documents of runs apart whose latest state a row holds, by collection. */
    const overRuns = new Map<string, Set<string>>();
    const unmerged: Unmerged[] = [];
    for (const row of rows) {
      const seq = row.seq ?? 0;
      let wasRun: number | undefined;
      if (apart) wasRun = apart.holding(row.collection, row.id);
      else {
        const was = latest.get(row.collection)?.get(row.id);
        wasRun = was === undefined ? undefined : runOf.get(was)!;
      }
      if (wasRun !== undefined ? runs[wasRun]!.seq > seq : row.state.length === 0)
        raw.objectStore('docs').delete([row.collection, row.id]);
      else {
        if (wasRun !== undefined) {
          live[wasRun]!--;
          if (apart) entry(overRuns, row.collection, () => new Set<string>()).add(row.id);
        }
        entry(latest, row.collection).set(row.id, row.state);
        latestRows.push(row);
      }
    }
    for (const [r, n] of live.entries())
      if (n === 0) raw.objectStore('runs').delete([runs[r]!.seq, runs[r]!.collection]);
    await tx.done;
    // The states of the runs that hold latest ones, each run's as soon as it is read (packed ones
    // as their inflating, begun above, ends): the page works on one while the next inflates.
    await Promise.all(
      runs.map(async (run, r) => {
        if (live[r] === 0) return;
        const jsons: Uint8Array[] | undefined = json && [];
        const runRead = await runStates(run, ids[r]!.length, inflating[r], jsons);
        const runIds = ids[r]!;
        const over = overRuns.get(run.collection);
        if (apart && json) {
          // Only the JSON is needed now; the states join `forms` when it is next read.
          unmerged.push({ collection: run.collection, ids: runIds, states: runRead, over });
          for (let i = 0; i < runIds.length; i++)
            if (!over?.has(runIds[i]!)) json.add(run.collection, runIds[i]!, runRead[i]!, jsons?.[i]);
          return;
        }
        const states = latest.get(run.collection)!;
        for (let i = 0; i < runIds.length; i++) {
          if (apart ? over?.has(runIds[i]!) : states.get(runIds[i]!) !== marks[r]) continue;
          states.set(runIds[i]!, runRead[i]!);
          json?.add(run.collection, runIds[i]!, runRead[i]!, jsons?.[i]);
        }
      }),
    );
    for (const row of latestRows) json?.add(row.collection, row.id, row.state);
    // An empty state is a deletion: it hid older states, and is no document.
    // forEach, not for-of: a reload's 100,000 entries would each be made an array.
    for (const states of latest.values())
      states.forEach((state, id) => {
        if (state.length === 0) states.delete(id);
      });
    return { meta, latest, unmerged };
  }

  async commit(commit: Commit): Promise<void> {
    const tx = this.db.transaction(['meta', 'docs', 'runs', 'counters', 'changes'], 'readwrite', {
      durability: 'strict',
    });
    // Requests on the unwrapped stores: idb gives each request a promise and two listeners,
    // which cost 3.3 s of a 100,000-product initial sync in Chromium (profiled). Requests are
    // queued in order and the transaction's outcome is theirs: awaiting it is enough.
    const raw = this.unwrap(tx);
    const seq = this.seq + 1;
    const changes = raw.objectStore('changes');
    for (const c of commit.changes) changes.put({ replica: c.replica, seq: c.seq, bytes: own(c.bytes) });
    const byCollection = new Map<string, StoredDoc[]>();
    for (const d of commit.docs) entry(byCollection, d.collection, () => []).push(d);
    for (const [collection, docs] of byCollection) {
      if (docs.length >= RUN) raw.objectStore('runs').put(run(seq, collection, docs, commit.packed));
      else
        for (const d of docs)
          raw.objectStore('docs').put({ collection, id: d.id, state: own(d.state), seq } satisfies DocRow);
    }
    const meta = raw.objectStore('meta');
    for (const [k, v] of commit.meta) meta.put(v, k);
    raw.objectStore('counters').put(seq, 'seq');
    await tx.done;
    this.seq = seq;
    if (this.forms && this.backlog.add(commit.docs, this.formsCount)) this.fold();
  }

  /** Puts the documents committed since `loadJson` in `forms`, later ones over earlier ones. */
  private fold(): void {
    const forms = this.forms;
    if (!forms) return;
    for (const run of this.unmerged.splice(0)) {
      const states = entry(forms, run.collection);
      this.sorted.delete(run.collection);
      for (let i = 0; i < run.ids.length; i++)
        if (run.states[i]!.length > 0 && !run.over?.has(run.ids[i]!)) states.set(run.ids[i]!, run.states[i]!);
    }
    this.backlog.drain((docs) => {
      for (const d of docs) {
        const states = entry(forms, d.collection);
        const size = states.size;
        if (d.state.length === 0) states.delete(d.id);
        else states.set(d.id, d.state);
        this.formsCount += states.size - size;
        this.sorted.delete(d.collection);
      }
    });
  }

  async changes(replica: ReplicaId, after: number, limit?: number): Promise<StoredChange[]> {
    return this.db.getAll(
      'changes',
      IDBKeyRange.bound([replica, after], [replica, Number.MAX_SAFE_INTEGER], true),
      limit,
    );
  }

  async compact(upTo: ReadonlyMap<ReplicaId, number>): Promise<void> {
    const tx = this.db.transaction('changes', 'readwrite', { durability: 'strict' });
    for (const [replica, seq] of upTo) void tx.store.delete(IDBKeyRange.bound([replica, 0], [replica, seq]));
    await tx.done;
  }

  async putAttachment(hash: string, bytes: Uint8Array): Promise<void> {
    if ((await this.db.getKey('attachments', hash)) === undefined)
      await this.db.put('attachments', own(bytes), hash);
  }

  async getAttachment(hash: string): Promise<Uint8Array | undefined> {
    return this.db.get('attachments', hash);
  }

  async deleteAttachment(hash: string): Promise<void> {
    await this.db.delete('attachments', hash);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/** `map`'s entry for `key`, made first if it has none. */
function entry<K, V>(map: Map<K, V>, key: K, make: () => V = () => new Map() as V): V {
  const found = map.get(key);
  if (found !== undefined) return found;
  const made = make();
  map.set(key, made);
  return made;
}

/**
 * A collection's documents of one commit as one run: the deflated frame they came in when the
 * commit has it for them (`packed`), else their states copied end to end into one buffer.
 */
function run(
  seq: number,
  collection: string,
  docs: readonly StoredDoc[],
  packed: PackedDocs | undefined,
): DocRun {
  const ids = JSON.stringify(docs.map((d) => d.id));
  if (packed?.count === docs.length)
    return { seq, collection, ids, packed: own(packed.deflated), at: packed.at };
  const ends = new Uint32Array(docs.length);
  let size = 0;
  for (const [i, d] of docs.entries()) {
    size += d.state.length;
    ends[i] = size;
  }
  const states = new Uint8Array(size);
  for (const [i, d] of docs.entries()) states.set(d.state, i === 0 ? 0 : ends[i - 1]!);
  return { seq, collection, ids, states, ends };
}

/**
 * A run's `n` states, in order (`inflated`: its packed frame inflating); a packed run's JSONs
 * pushed to `jsons` on the way, if given (see `readStoredForms`).
 */
async function runStates(
  run: DocRun,
  n: number,
  inflated: Promise<Uint8Array> | undefined,
  jsons?: Uint8Array[],
): Promise<Uint8Array[]> {
  if ('packed' in run) return readStoredForms(new Decoder((await inflated!).subarray(run.at)), n, jsons);
  const out: Uint8Array[] = [];
  for (let i = 0, start = 0; i < n; start = run.ends[i++]!) out.push(run.states.subarray(start, run.ends[i]));
  return out;
}

/**
 * Runs no document is in two of (each collection's), told cheaply: each run's ids ascend, and the
 * runs' ranges of ids do not meet — an initial sync's chunks, stored as they came. `of` gives
 * undefined otherwise (runs rewriting documents of earlier ones: later syncs, large writes).
 */
class RunsApart {
  private constructor(
    /** By collection: each run's first id, last id and index, in order of their ids. */
    private readonly ranges: Map<string, Array<{ first: string; last: string; r: number }>>,
    private readonly ids: readonly (readonly string[])[],
  ) {}

  static of(runs: readonly DocRun[], ids: readonly (readonly string[])[]): RunsApart | undefined {
    const ranges = new Map<string, Array<{ first: string; last: string; r: number }>>();
    for (let r = 0; r < runs.length; r++) {
      const runIds = ids[r]!;
      if (runIds.length === 0) continue;
      for (let i = 1; i < runIds.length; i++) if (!(runIds[i - 1]! < runIds[i]!)) return undefined;
      entry(ranges, runs[r]!.collection, () => []).push({
        first: runIds[0]!,
        last: runIds[runIds.length - 1]!,
        r,
      });
    }
    for (const list of ranges.values()) {
      list.sort((a, b) => (a.first < b.first ? -1 : 1));
      for (let i = 1; i < list.length; i++) if (!(list[i - 1]!.last < list[i]!.first)) return undefined;
    }
    return new RunsApart(ranges, ids);
  }

  /** The run holding the document, if one does. */
  holding(collection: string, id: string): number | undefined {
    const list = this.ranges.get(collection);
    if (!list) return undefined;
    // The last run starting at or before `id`, then `id` among its ids.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]!.first <= id) lo = mid + 1;
      else hi = mid;
    }
    const range = list[lo - 1];
    if (!range || id > range.last) return undefined;
    const runIds = this.ids[range.r]!;
    lo = 0;
    hi = runIds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (runIds[mid]! < id) lo = mid + 1;
      else hi = mid;
    }
    return runIds[lo] === id ? range.r : undefined;
  }
}

/**
 * The bytes in a buffer of their own. Structured cloning keeps a view's whole buffer, and the
 * database hands over views: a snapshot's or a sync chunk's documents are views of one buffer
 * (`readStoredForms`) — stored as they are, each would take all of it. A copy by the
 * constructor, not `slice`: a Node Buffer's `slice` is a view.
 */
function own(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes
    : new Uint8Array(bytes);
}
