import { FORMAT_VERSION, type ReplicaId, replicaId } from '@concord/crdt';
import { Encoder } from '@concord/crdt/internal';
import { deflateMessage } from '../Deflated.js';
import { MESSAGE_KINDS } from '../messageKinds.js';
import { joinStored, writeStoredForms } from '../StoredDocument.js';
import type { Commit, DeferringStorage, PackedDocs, Storage } from './Storage.js';

/** Opens the same store each time it is called: the first call creates it, later calls reopen it. */
export type StorageFactory = () => Promise<Storage>;

export interface AcceptanceCase {
  readonly name: string;
  run(open: StorageFactory): Promise<void>;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`storage acceptance: ${what}`);
}

const bytes = (...b: number[]) => new Uint8Array(b);

/** A Uint8Array whose `slice` is a view, as a Node Buffer's is. */
class ViewSlicing extends Uint8Array {
  override slice(start?: number, end?: number): Uint8Array<ArrayBuffer> {
    return this.subarray(start, end);
  }
}
const utf8 = new TextEncoder();
/** A stored form (see StoredDocument): a JSON naming `state`, then `state` as the CRDT's bytes. */
const form = (...state: number[]) =>
  joinStored(utf8.encode(JSON.stringify({ _id: `doc${state.join('.')}` })), bytes(...state));
const same = (a: Uint8Array | undefined, b: Uint8Array) =>
  a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * `states` as a sync chunk's deflated frame carries them (`Commit.packed`): a message with
 * something before them, as a chunk has its subscription and version there.
 */
function packed(states: readonly Uint8Array[]): PackedDocs {
  const forms = new Encoder();
  writeStoredForms(forms, states);
  const enc = new Encoder();
  enc.string('what a message holds before its documents');
  writeStoredForms(enc, states);
  const message = enc.finish(FORMAT_VERSION, MESSAGE_KINDS.snapshot);
  const deflated = deflateMessage(message);
  check(deflated.length < message.length, 'the packed test frame is not deflated');
  return { deflated, at: message.length - forms.finishRaw().length, count: states.length };
}

const A: ReplicaId = replicaId('replica-a');
const B: ReplicaId = replicaId('replica-b');
const NO_META = new Map<string, Uint8Array>();

/** The integers from `from` up to `to`, not included. */
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** A removed document's stored form: no JSON, then its state. */
const removedForm = (...state: number[]) => joinStored(new Uint8Array(0), bytes(...state));

/** A commit of `docs` alone, with their states' packed frame when `pack` (as a sync chunk brings them). */
function commitDocs(s: Storage, docs: Commit['docs'], pack: boolean): Promise<void> {
  return s.commit({
    changes: [],
    docs,
    meta: NO_META,
    ...(pack ? { packed: packed(docs.map((d) => d.state)) } : {}),
  });
}

/**
 * The contract of `Storage` as executable checks, run by every adapter's tests (memory, SQLite,
 * IndexedDB, PostgreSQL) and usable for any new one: framework-free, so it runs in Node and in
 * a browser alike.
 */
export const STORAGE_ACCEPTANCE: readonly AcceptanceCase[] = [
  {
    name: 'a new store is empty',
    async run(open) {
      const s = await open();
      const { meta, docs } = await s.load();
      check(meta.size === 0 && docs.length === 0, 'new store not empty');
      check((await s.changes(A, 0)).length === 0, 'new store has changes');
      await s.close();
    },
  },
  {
    name: 'commits survive close and reopen: documents, meta (last write wins), log',
    async run(open) {
      const s = await open();
      await s.commit({
        changes: [{ replica: A, seq: 1, bytes: bytes(1) }],
        docs: [
          { collection: 'p', id: 'x', state: form(1, 2) },
          { collection: 'q', id: 'x', state: form(3) },
        ],
        meta: new Map([['version', bytes(1)]]),
      });
      await s.commit({
        changes: [{ replica: A, seq: 2, bytes: bytes(2) }],
        docs: [{ collection: 'p', id: 'x', state: form(9) }],
        meta: new Map([['version', bytes(2)]]),
      });
      await s.close();
      const t = await open();
      const { meta, docs } = await t.load();
      check(same(meta.get('version'), bytes(2)), 'meta not the last written');
      const byKey = new Map(docs.map((d) => [`${d.collection}/${d.id}`, d.state]));
      check(docs.length === 2, `expected 2 documents, got ${docs.length}`);
      check(same(byKey.get('p/x'), form(9)) && same(byKey.get('q/x'), form(3)), 'document states wrong');
      const log = await t.changes(A, 0);
      check(log.length === 2 && log[0]!.seq === 1 && same(log[1]!.bytes, bytes(2)), 'log wrong after reopen');
      await t.close();
    },
  },
  {
    name: 'an empty state deletes the document; deleting one never stored is harmless',
    async run(open) {
      const s = await open();
      await s.commit({
        changes: [],
        docs: [
          { collection: 'p', id: 'x', state: form(1) },
          { collection: 'p', id: 'y', state: form(2) },
        ],
        meta: NO_META,
      });
      await s.commit({
        changes: [],
        docs: [
          { collection: 'p', id: 'x', state: bytes() },
          { collection: 'p', id: 'never', state: bytes() },
        ],
        meta: NO_META,
      });
      await s.close();
      const t = await open();
      const { docs } = await t.load();
      check(
        docs.length === 1 && docs[0]!.id === 'y' && same(docs[0]!.state, form(2)),
        'deleted document kept',
      );
      await t.close();
    },
  },
  {
    name: 'changes(replica, after) returns that replica’s later changes in order; repeats are ignored',
    async run(open) {
      const s = await open();
      for (const seq of [1, 2, 3]) {
        await s.commit({ changes: [{ replica: A, seq, bytes: bytes(seq) }], docs: [], meta: NO_META });
      }
      await s.commit({
        changes: [
          { replica: B, seq: 1, bytes: bytes(7) },
          { replica: A, seq: 3, bytes: bytes(3) },
        ],
        docs: [],
        meta: NO_META,
      });
      const after1 = await s.changes(A, 1);
      check(after1.map((c) => c.seq).join() === '2,3', `changes(A, 1) gave ${after1.map((c) => c.seq)}`);
      check((await s.changes(B, 0)).length === 1, 'other replica’s change missing');
      check((await s.changes(A, 3)).length === 0, 'changes past the end');
      const limited = await s.changes(A, 0, 2);
      check(limited.map((c) => c.seq).join() === '1,2', 'limit not honoured');
      await s.close();
    },
  },
  {
    name: 'compact drops each replica’s changes up to its horizon and nothing else',
    async run(open) {
      const s = await open();
      const changes = [1, 2, 3].flatMap((seq) => [
        { replica: A, seq, bytes: bytes(seq) },
        { replica: B, seq, bytes: bytes(seq) },
      ]);
      await s.commit({ changes, docs: [], meta: NO_META });
      await s.compact(new Map([[A, 2]]));
      check((await s.changes(A, 0)).map((c) => c.seq).join() === '3', 'A not compacted to 2');
      check((await s.changes(B, 0)).length === 3, 'B compacted');
      await s.close();
    },
  },
  {
    name: 'attachments are kept once by hash and read back; unknown ones are undefined',
    async run(open) {
      const s = await open();
      const h = 'ab'.repeat(32);
      await s.putAttachment(h, bytes(5, 6));
      await s.putAttachment(h, bytes(5, 6));
      check(same(await s.getAttachment(h), bytes(5, 6)), 'attachment not read back');
      check((await s.getAttachment('cd'.repeat(32))) === undefined, 'unknown attachment found');
      await s.close();
      const t = await open();
      check(same(await t.getAttachment(h), bytes(5, 6)), 'attachment lost on reopen');
      await t.deleteAttachment(h);
      check((await t.getAttachment(h)) === undefined, 'deleted attachment found');
      await t.deleteAttachment(h);
      await t.putAttachment(h, bytes(7));
      check(same(await t.getAttachment(h), bytes(7)), 'attachment not written again after its deletion');
      await t.close();
    },
  },
  {
    name: "an attachment is copied: the caller's bytes changing later change nothing",
    async run(open) {
      const s = await open();
      const h = 'ef'.repeat(32);
      // Bytes whose `slice` is a view, as a Node Buffer's is: storing a slice would share them.
      const given = new ViewSlicing([7, 8, 9]);
      await s.putAttachment(h, given);
      given.fill(0);
      const read = await s.getAttachment(h);
      check(same(read, bytes(7, 8, 9)), 'attachment changed with the bytes it was given');
      read!.fill(1);
      check(same(await s.getAttachment(h), bytes(7, 8, 9)), 'attachment changed with the bytes it gave');
      await s.close();
    },
  },
  {
    name: 'the latest state wins however documents were written: large commits and small, deleted and written again',
    async run(open) {
      const s = await open();
      const docs = (from: number, to: number, state: Uint8Array) =>
        Array.from({ length: to - from }, (_, i) => ({ collection: 'p', id: `d${from + i}`, state }));
      const commit = (d: Commit['docs']) => s.commit({ changes: [], docs: d, meta: NO_META });
      await commit(docs(0, 300, form(1)));
      await commit([
        { collection: 'p', id: 'd1', state: form(2) },
        { collection: 'p', id: 'd2', state: bytes() },
      ]);
      await commit([...docs(100, 400, form(3)), { collection: 'p', id: 'd5', state: bytes() }]);
      await commit([
        { collection: 'p', id: 'd150', state: form(4) },
        { collection: 'p', id: 'd2', state: form(5) },
      ]);
      const expected = (id: number) =>
        id === 1 ? 2 : id === 2 ? 5 : id === 150 ? 4 : id >= 100 ? 3 : id === 5 ? undefined : 1;
      const holds = async (t: Storage, when: string) => {
        const got = new Map((await t.load()).docs.map((d) => [d.id, d.state]));
        check(got.size === 399, `${when}: ${got.size} documents, not 399`);
        for (let i = 0; i < 400; i++) {
          const want = expected(i);
          const state = got.get(`d${i}`);
          check(
            want === undefined ? state === undefined : state !== undefined && same(state, form(want)),
            `${when}: d${i} is not its latest state`,
          );
        }
      };
      await holds(s, 'before reopening');
      await s.close();
      const t = await open();
      await holds(t, 'reopened');
      await t.commit({ changes: [], docs: [{ collection: 'p', id: 'd7', state: bytes() }], meta: NO_META });
      await t.close();
      const u = await open();
      const ids = new Set((await u.load()).docs.map((d) => d.id));
      check(ids.size === 398 && !ids.has('d7') && ids.has('d8'), 'a deletion after reopening lost or spread');
      await u.close();
    },
  },
  {
    name: 'documents committed with their packed frame read back as their states; later writes win over them',
    async run(open) {
      const s = await open();
      const commit = (ids: number[], state: (i: number) => Uint8Array, pack: boolean) => {
        const docs = ids.map((i) => ({
          collection: 'p',
          id: `d${String(i).padStart(3, '0')}`,
          state: state(i),
        }));
        return commitDocs(s, docs, pack);
      };
      await commit(range(0, 200), (i) => form(1, i % 7), true);
      await commit([5], () => bytes(), false);
      await commit([6], () => form(2), false);
      await commit(range(150, 300), (i) => form(3, i % 5), true);
      const expected = (i: number) => (i >= 150 ? form(3, i % 5) : i === 6 ? form(2) : form(1, i % 7));
      const holds = async (t: Storage, when: string) => {
        const got = new Map((await t.load()).docs.map((d) => [d.id, d.state]));
        check(got.size === 299 && !got.has('d005'), `${when}: ${got.size} documents, not 299 without d005`);
        for (const i of range(0, 300))
          if (i !== 5)
            check(same(got.get(`d${String(i).padStart(3, '0')}`), expected(i)), `${when}: d${i} wrong`);
      };
      await holds(s, 'before reopening');
      await s.close();
      const t = await open();
      await holds(t, 'reopened');
      await t.close();
    },
  },
  {
    name: 'a large commit (5,000 documents and changes) is stored whole',
    async run(open) {
      const s = await open();
      const n = 5000;
      await s.commit({
        changes: Array.from({ length: n }, (_, i) => ({ replica: A, seq: i + 1, bytes: bytes(i % 256) })),
        docs: Array.from({ length: n }, (_, i) => ({ collection: 'p', id: `d${i}`, state: form(i % 256) })),
        meta: NO_META,
      });
      check((await s.load()).docs.length === n, 'not every document stored');
      check((await s.changes(A, n - 10)).length === 10, 'tail of the log wrong');
      await s.close();
    },
  },
];

/** What a `DeferringStorage` adds, as checks: run by the adapters that defer (SQLite). */
export const DEFERRING_ACCEPTANCE: readonly AcceptanceCase[] = [
  {
    name: "loadJson gives each collection's live JSON as arrays and its removed ids; the stored forms read alone or in runs",
    async run(open) {
      const s = (await open()) as DeferringStorage;
      const removed = removedForm(4);
      await s.commit({
        changes: [],
        docs: [
          { collection: 'p', id: 'x', state: form(1) },
          { collection: 'p', id: 'w', state: form(2, 2) },
          { collection: 'p', id: 'y', state: removed },
          { collection: 'q', id: 'z', state: form(3) },
          { collection: 'r', id: 'gone', state: removed },
        ],
        meta: new Map([['version', bytes(1)]]),
      });
      await s.close();
      const t = (await open()) as DeferringStorage;
      const { meta, collections } = await t.loadJson();
      check(same(meta.get('version'), bytes(1)), 'meta not loaded with the JSON');
      const by = new Map(collections.map((c) => [c.collection, c]));
      check(by.size === 3, `expected collections p, q and r, got ${[...by.keys()]}`);
      const ids = (c: string) =>
        by
          .get(c)!
          .live.flatMap((text) => JSON.parse(text) as Array<{ _id: string }>)
          .map((d) => d._id)
          .sort();
      check(ids('p').join() === 'doc1,doc2.2' && ids('q').join() === 'doc3', 'live JSON wrong');
      check(
        ids('r').length === 0 && by.get('r')!.removed.join() === 'gone',
        'a collection of removed documents',
      );
      check(by.get('p')!.removed.join() === 'y', 'removed ids wrong');
      check(
        same(t.storedForm('p', 'w'), form(2, 2)) && same(t.storedForm('p', 'y'), removed),
        'stored form read alone',
      );
      check(t.storedForm('p', 'nope') === undefined, 'a stored form of nothing');
      const first = t.storedForms('p', '', 2);
      const rest = t.storedForms('p', first[first.length - 1]!.id, 2);
      check(
        first.map((d) => d.id).join() === 'w,x' &&
          rest.map((d) => d.id).join() === 'y' &&
          same(rest[0]!.state, removed),
        'stored forms in runs, in id order',
      );
      await t.close();
    },
  },
  {
    name: 'loadJson gives the latest state however documents were written: runs, packed runs, rows, deletions',
    async run(open) {
      const s = (await open()) as DeferringStorage;
      const removed = removedForm(9);
      const doc = (i: number, state: Uint8Array) => ({ collection: 'p', id: `d${i}`, state });
      const commit = (docs: Commit['docs'], pack = false) => commitDocs(s, docs, pack);
      await commit(
        range(0, 300).map((i) => doc(i, form(1, i))),
        true,
      );
      await commit([doc(5, bytes()), doc(6, form(2, 6)), doc(7, removed)]);
      await commit([...range(200, 400).map((i) => doc(i, form(3, i))), doc(10, bytes())]);
      await commit(
        range(350, 450).map((i) => doc(i, form(4, i))),
        true,
      );
      await commit([doc(360, form(5, 360)), doc(260, bytes()), doc(5, form(6, 5))]);
      // Each document's latest JSON: the last commit holding it, but where a later one wrote it
      // on its own, deleted it (none) or removed it (d7: removed ids, not live JSON).
      const written = new Map([
        [5, 'doc6.5'],
        [6, 'doc2.6'],
        [7, undefined],
        [10, undefined],
        [260, undefined],
        [360, 'doc5.360'],
      ]);
      const want = (i: number) =>
        written.has(i) ? written.get(i) : `doc${i >= 350 ? 4 : i >= 200 ? 3 : 1}.${i}`;
      const expected = range(0, 450).flatMap((i) => want(i) ?? []);
      for (const when of ['before reopening', 'reopened']) {
        const t = when === 'reopened' ? ((await open()) as DeferringStorage) : s;
        const { collections } = await t.loadJson();
        const p = collections.find((c) => c.collection === 'p');
        const live = p?.live.flatMap((text) => JSON.parse(text) as Array<{ _id: string }>).map((d) => d._id);
        check(
          JSON.stringify(live?.sort()) === JSON.stringify([...expected].sort()),
          `${when}: live JSON is not every document's latest`,
        );
        check(p?.removed.join() === 'd7', `${when}: removed ids ${p?.removed}`);
        check(same(t.storedForm('p', 'd360'), form(5, 360)) && t.storedForm('p', 'd10') === undefined, when);
        await t.close();
      }
    },
  },
  {
    name: 'loadJson over runs apart (an initial sync, as stored) and rows written over some of them since',
    async run(open) {
      const s = (await open()) as DeferringStorage;
      const removed = removedForm(9);
      // Ids in order within each run and runs' ranges apart, as an initial sync's chunks are;
      // the second run is written before the first, and a third collection's run beside them.
      const id = (i: number) => `d${String(i).padStart(3, '0')}`;
      const doc = (c: string, i: number, state: Uint8Array) => ({ collection: c, id: id(i), state });
      const commit = (docs: Commit['docs'], pack = false) => commitDocs(s, docs, pack);
      await commit(
        range(100, 200).map((i) => doc('p', i, form(2, i))),
        true,
      );
      await commit(range(0, 100).map((i) => doc('p', i, form(1, i))));
      await commit(
        range(0, 80).map((i) => doc('q', i, form(7, i))),
        true,
      );
      // Rows since: in p one rewritten, one deleted, one removed, one new; in q one rewritten.
      await commit([
        doc('p', 5, form(3, 5)),
        doc('p', 150, bytes()),
        doc('p', 160, removed),
        doc('p', 250, form(4, 250)),
        doc('q', 3, form(8, 3)),
      ]);
      const want = [
        ...range(0, 100).map((i) => (i === 5 ? 'doc3.5' : `doc1.${i}`)),
        ...range(100, 200).flatMap((i) => (i === 150 || i === 160 ? [] : [`doc2.${i}`])),
        'doc4.250',
      ];
      for (const when of ['before reopening', 'reopened']) {
        const t = when === 'reopened' ? ((await open()) as DeferringStorage) : s;
        const { collections } = await t.loadJson();
        const by = new Map(collections.map((c) => [c.collection, c]));
        const live = (c: string) =>
          by
            .get(c)
            ?.live.flatMap((text) => JSON.parse(text) as Array<{ _id: string }>)
            .map((d) => d._id)
            .sort();
        check(JSON.stringify(live('p')) === JSON.stringify([...want].sort()), `${when}: p's live JSON`);
        check(by.get('p')?.removed.join() === id(160), `${when}: p's removed ids ${by.get('p')?.removed}`);
        check(live('q')?.length === 80 && live('q')?.includes('doc8.3') === true, `${when}: q's live JSON`);
        check(same(t.storedForm('p', id(5)), form(3, 5)) && t.storedForm('p', id(150)) === undefined, when);
        const forms = t.storedForms('p', id(98), 4);
        check(
          forms.map((d) => d.id).join() === [99, 100, 101, 102].map(id).join() &&
            same(forms[1]!.state, form(2, 100)),
          `${when}: stored forms across the runs`,
        );
        await t.close();
      }
    },
  },
  {
    name: 'after loadJson, the stored forms read are those later commits wrote: a removal removes',
    async run(open) {
      const s = (await open()) as DeferringStorage;
      const ids = Array.from({ length: 100 }, (_, i) => `d${String(i).padStart(2, '0')}`);
      const commit = (docs: Commit['docs']) => s.commit({ changes: [], docs, meta: NO_META });
      await commit(ids.map((id) => ({ collection: 'p', id, state: form(1) })));
      await s.loadJson();
      // A large commit and small ones after the load; read only then.
      await commit(ids.slice(50).map((id) => ({ collection: 'p', id, state: form(2) })));
      await commit([{ collection: 'p', id: 'd07', state: form(3) }]);
      await commit([{ collection: 'p', id: 'd08', state: bytes() }]);
      await commit([{ collection: 'q', id: 'new', state: form(4) }]);
      check(
        same(s.storedForm('p', 'd07'), form(3)) && same(s.storedForm('p', 'd60'), form(2)),
        'stale forms',
      );
      check(
        s.storedForm('p', 'd08') === undefined && same(s.storedForm('q', 'new'), form(4)),
        'removal or new',
      );
      const run = s.storedForms('p', 'd05', 4);
      check(run.map((d) => d.id).join() === 'd06,d07,d09,d10' && same(run[1]!.state, form(3)), 'a run');
      await s.close();
    },
  },
];
