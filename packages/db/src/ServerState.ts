import { DecodeError, HybridLogicalClock, newReplicaId, replicaId as toReplicaId } from '@concord/crdt';
import { Encoder } from '@concord/crdt/internal';
import { type Change, checkChange, decodeLogged } from './Change.js';
import type { CollectionState } from './CollectionState.js';
import type { ServerBatch } from './Database.js';
import { DeferredEvictions, docKey } from './DeferredEvictions.js';
import { DbError } from './errors.js';
import { Integration } from './Integration.js';
import { META_ACKED, META_EVICTED, META_EVICTING, META_FORKED, META_REPLICA } from './metaKeys.js';
import type { Replica } from './Replica.js';
import { applyRewrite, decodeRewrites, encodeRewrites, type Rewrite } from './Rewrite.js';
import type { StagedDocument } from './StagedDocument.js';

const NONE = new Uint8Array(0);
const utf8 = new TextEncoder();
/** How far a replica's clock may be from its sync server's before it is corrected. */
const CLOCK_TOLERANCE_MS = 60_000;

/**
 * What a replica keeps of its sync server, for the sync client (sync/SyncClient): the server's
 * batches taken in (`integrate`), how far the server holds this replica's changes (its outbox
 * is everything after), documents evicted or kept past their eviction, the clock's correction,
 * and the fork to a new replica id when the storage went back in time.
 */
export class ServerState {
  constructor(private readonly r: Replica) {}

  /** Makes `rewrites` again as this replica's changes, in one transaction (see `Rewrite`). */
  rewrite(rewrites: readonly Rewrite[]): Promise<void> {
    return this.r.exclusive(() =>
      this.r.write((tx) => {
        for (const r of rewrites) applyRewrite(tx, r);
      }),
    );
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
    return this.r.exclusive(async () => {
      const touched = new Map<string, { collection: string; id: string; keys: Set<string> }>();
      for (const s of await this.r.storage.changes(this.r.replica, this.r.ackedSeq() ?? 0)) {
        const c = decodeLogged(s.bytes, this.r.interner);
        const key = docKey(c.collection, c.docId);
        let t = touched.get(key);
        if (!t) {
          t = { collection: c.collection, id: c.docId, keys: new Set() };
          touched.set(key, t);
        }
        for (const k of c.ops.keys()) t.keys.add(k);
      }
      const kept = new Map(
        decodeRewrites(this.r.meta.get(META_FORKED)).map((r) => [docKey(r.collection, r.id), r]),
      );
      const integration = new Integration((name) => this.r.state(name));
      const entries: Array<[string, Uint8Array]> = [...meta];
      for (const [key, { collection, id, keys }] of touched) {
        const state = this.r.state(collection);
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
      await this.r.commit([], undefined, docs, entries);
      this.keepEvicted(entries);
      const clock = new HybridLogicalClock(replica, this.r.options.now ? { now: this.r.options.now } : {});
      clock.correct(this.r.clock.offset);
      this.r.replica = replica;
      this.r.clock = clock;
      this.r.install('remote', [], undefined, docs);
      return kept.size;
    });
  }

  /** Makes the writes `fork` kept again under the new replica id, and forgets them, in one commit. */
  rewriteForked(): Promise<void> {
    return this.r.exclusive(async () => {
      const rewrites = decodeRewrites(this.r.meta.get(META_FORKED));
      if (rewrites.length === 0) return;
      await this.r.write(
        (tx) => {
          for (const r of rewrites) applyRewrite(tx, r);
        },
        [[META_FORKED, NONE]],
      );
    });
  }

  /** Whether writes `fork` kept are still to be made again. */
  get forked(): boolean {
    return (this.r.meta.get(META_FORKED)?.length ?? 0) > 0;
  }

  /** How many of this replica's changes a sync server was last known to hold (0 if none). */
  get acknowledgedSeq(): number {
    return this.r.ackedSeq() ?? 0;
  }

  /** How many changes the outbox holds, without reading them. */
  unacknowledged(): number {
    return Math.max(0, this.r.vv.get(this.r.replicaId) - (this.r.ackedSeq() ?? 0));
  }

  /** This replica's changes no sync server has acknowledged: its outbox (every own change if it never synced). */
  outbox(): Promise<Change[]> {
    return this.r.ownChanges(this.r.ackedSeq() ?? 0);
  }

  /**
   * Takes in what a sync server sent (see `ServerBatch`) as one durable commit with its `meta`.
   * Nothing is logged and the version does not move: the server, not this replica, is where
   * these changes are kept and forwarded from, and a partial replica has gaps in every other
   * replica's sequence. Whole states of documents this replica has never had are adopted
   * without decoding them. Throws `BAD_CHANGE`, taking in nothing, for anything malformed.
   */
  integrate(batch: ServerBatch): Promise<void> {
    return this.r.exclusive(async () => {
      const deferred = DeferredEvictions.decode(this.r.meta.get(META_EVICTING));
      const outbox = batch.evict?.length ? await this.outboxDocuments(this.r.ackedSeq() ?? 0) : undefined;
      const meta: Array<[string, Uint8Array]> = [...(batch.meta ?? [])];
      const docs = this.stage(batch, deferred, outbox, meta);
      if (deferred.changed) meta.push([META_EVICTING, deferred.encode()]);
      await this.r.commit([], undefined, docs, meta, adoptedAsSent(docs, batch) ? batch.packed : undefined);
      this.keepEvicted(meta);
      this.r.install('remote', batch.changes ?? [], undefined, docs);
    });
  }

  /**
   * Stages `batch` (`integrate`): evictions, whole states, changes and replacements, in that
   * order, with the meta entries they need pushed to `meta`. Apart from `integrate`'s async
   * body, whose every call allocates room for all its locals: a client takes thousands.
   */
  private stage(
    batch: ServerBatch,
    deferred: DeferredEvictions,
    outbox: Set<string> | undefined,
    meta: Array<[string, Uint8Array]>,
  ): StagedDocument[] {
    const integration = new Integration((name) => this.r.state(name));
    try {
      for (const e of batch.evict ?? []) {
        if (outbox?.has(docKey(e.collection, e.id))) deferred.add(e.collection, e.id);
        else this.evict(integration, e.collection, e.id, meta);
      }
      // A batch of whole states only, in strictly ascending ids per collection (a snapshot's
      // chunk), names each document once: those its collection does not know are adopted
      // without a work entry (a chunk holds thousands).
      const once =
        !batch.evict?.length && !batch.changes?.length && !batch.replace?.length && ascending(batch.docs);
      let state: CollectionState | undefined;
      for (const d of batch.docs ?? []) {
        deferred.delete(d.collection, d.id);
        this.returned(d.collection, d.id, meta);
        if (state?.name !== d.collection) state = this.r.state(d.collection);
        if (once && !state.knows(d.id)) integration.adopt(state, d.id, d.stored, d.value);
        else integration.state(d.collection, d.id, d.stored, d.value);
      }
      for (const c of batch.changes ?? []) {
        checkChange(c);
        this.r.receive(c);
        deferred.delete(c.collection, c.docId);
        this.returned(c.collection, c.docId, meta);
        integration.join(c.collection, c.docId, c.ops);
      }
      for (const r of batch.replace ?? []) {
        this.returned(r.collection, r.id, meta);
        integration.replace(r.collection, r.id, r.stored, r.reapply);
      }
      return integration.staged();
    } catch (e) {
      if (e instanceof DecodeError || e instanceof SyntaxError)
        throw new DbError('BAD_CHANGE', `a document state from the server: ${e.message}`);
      throw e;
    }
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
    const state = this.r.state(collection);
    if ((state.current(id)?.state.ctx.vv.get(this.r.replicaId) ?? 0) > 0)
      meta.push([META_EVICTED + docKey(collection, id), state.storedForm(id)!]);
  }

  /** A document back from the server: its evicted state, if kept, is joined in and no longer kept apart. */
  private returned(collection: string, id: string, meta: Array<[string, Uint8Array]>): void {
    const evicted = this.r.collections.get(collection)?.evicted;
    if (evicted?.size && evicted.has(id)) meta.push([META_EVICTED + docKey(collection, id), NONE]);
  }

  /** Puts committed (or loaded) evicted states where writes find them. */
  keepEvicted(meta: Iterable<[string, Uint8Array]>): void {
    for (const [key, bytes] of meta) {
      if (!key.startsWith(META_EVICTED)) continue;
      const [collection, id] = key.slice(META_EVICTED.length).split('\u0000') as [string, string];
      const evicted = this.r.state(collection).evicted;
      if (bytes.length > 0) evicted.set(id, bytes);
      else evicted.delete(id);
    }
  }

  /** The documents this replica's own changes after its `after`-th touch, by `docKey`. */
  private async outboxDocuments(after: number): Promise<Set<string>> {
    const out = new Set<string>();
    if (this.r.vv.get(this.r.replicaId) <= after) return out;
    for (const s of await this.r.storage.changes(this.r.replicaId, after)) {
      const c = decodeLogged(s.bytes, this.r.interner);
      out.add(docKey(c.collection, c.docId));
    }
    return out;
  }

  /**
   * Sets this replica's clock by a sync server's (`serverTime`, ms since the epoch, as its
   * `welcome` says): if the local clock is more than `CLOCK_TOLERANCE_MS` off, later writes are
   * stamped with corrected time. Returns the correction in force (server minus local, ms; 0
   * when none). A clock far ahead would otherwise have every write refused for drift.
   */
  correctClock(serverTime: number): number {
    const off = serverTime - this.r.clock.physicalNow();
    if (Math.abs(off) > CLOCK_TOLERANCE_MS) this.r.clock.correct(this.r.clock.offset + off);
    return this.r.clock.offset;
  }

  /**
   * Records that a sync server durably holds this replica's changes up to `seq` (see `compact`),
   * and evicts the documents kept past their eviction that no unacknowledged change touches now.
   */
  acknowledged(seq: number): Promise<void> {
    return this.r.exclusive(async () => {
      if ((this.r.ackedSeq() ?? 0) >= seq) return;
      const enc = new Encoder();
      enc.uint(seq);
      const meta: Array<[string, Uint8Array]> = [[META_ACKED, enc.finishRaw()]];
      const deferred = DeferredEvictions.decode(this.r.meta.get(META_EVICTING));
      let docs: StagedDocument[] = [];
      if (deferred.size > 0) {
        const outbox = await this.outboxDocuments(seq);
        const integration = new Integration((name) => this.r.state(name));
        for (const { collection, id } of [...deferred.entries()]) {
          if (outbox.has(docKey(collection, id))) continue;
          this.evict(integration, collection, id, meta);
          deferred.delete(collection, id);
        }
        docs = integration.staged();
        if (deferred.changed) meta.push([META_EVICTING, deferred.encode()]);
      }
      await this.r.commit([], undefined, docs, meta);
      this.keepEvicted(meta);
      if (docs.length > 0) this.r.install('remote', [], undefined, docs);
    });
  }
}

/** Whether `staged` are the batch's documents adopted as they came, in its order: nothing joined, nothing else. */
function adoptedAsSent(staged: readonly StagedDocument[], batch: ServerBatch): boolean {
  const sent = batch.docs ?? [];
  if (staged.length !== sent.length) return false;
  for (let i = 0; i < sent.length; i++) if (staged[i]!.stored !== sent[i]!.stored) return false;
  return true;
}

/** Whether `docs` are in strictly ascending ids within each run of one collection (so none is named twice). */
function ascending(docs: ServerBatch['docs']): boolean {
  if (!docs) return true;
  const seen = new Set<string>();
  for (let i = 0; i < docs.length; i++) {
    const d = docs[i]!;
    const prev = docs[i - 1];
    if (prev && prev.collection === d.collection) {
      if (prev.id >= d.id) return false;
    } else if (seen.has(d.collection)) return false;
    else seen.add(d.collection);
  }
  return true;
}
