import { DecodeError, encodeVersionVector, type VersionVector } from '@concord/crdt';
import { type Change, checkChange, decodeLogged } from './Change.js';
import type { CollectionState } from './CollectionState.js';
import type { ChangeSet } from './Database.js';
import { docKey } from './DeferredEvictions.js';
import type { Document } from './Document.js';
import { DbError } from './errors.js';
import { Integration } from './Integration.js';
import { META_HORIZON } from './metaKeys.js';
import { PendingChanges } from './PendingChanges.js';
import type { Replica } from './Replica.js';
import type { Snapshot } from './Snapshot.js';
import { type StagedDocument, stage } from './StagedDocument.js';
import { StoredCheck, storedValue } from './StoredDocument.js';

/**
 * What a replica exchanges with its peers, server or not (see `Database.changesSince`): the
 * changes a peer lacks or a snapshot, remote changes applied idempotently in any order — those
 * waiting for a predecessor held in a bounded buffer — snapshots joined, and the log compacted.
 */
export class PeerExchange {
  /** Remote changes waiting for their predecessor from the same replica. */
  private readonly pending = new PendingChanges();

  constructor(private readonly r: Replica) {}

  /**
   * Everything a replica at `since` lacks: the logged changes after its version, in each
   * replica's order — or, if it is behind the compaction horizon, a snapshot of every document
   * and the version the snapshot stands for.
   */
  changesSince(since: VersionVector): Promise<ChangeSet> {
    return this.r.exclusive(async () => {
      for (const [replica, have] of this.r.vv.entries()) {
        if (since.get(replica) < have && since.get(replica) < this.r.horizon.get(replica))
          return this.snapshot();
      }
      const changes: Change[] = [];
      for (const [replica, have] of this.r.vv.entries()) {
        if (since.get(replica) >= have) continue;
        for (const s of await this.r.storage.changes(replica, since.get(replica)))
          changes.push(decodeLogged(s.bytes, this.r.interner));
      }
      return { kind: 'changes', changes, version: this.r.vv.clone() };
    });
  }

  /** Every document's stored form and the version they stand for: the database, whole. */
  snapshot(): Snapshot {
    const docs: Array<{ collection: string; id: string; stored: Uint8Array }> = [];
    for (const c of this.r.collections.values())
      for (const [id, stored] of c.storedForms()) docs.push({ collection: c.name, id, stored });
    return { kind: 'snapshot', version: this.r.vv.clone(), docs };
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
    return this.r.exclusive(async () => {
      for (const c of changes) checkChange(c);
      const added: Change[] = [];
      for (const c of changes)
        if (c.dot.seq > this.r.vv.get(c.dot.replica) && this.pending.add(c)) added.push(c);
      const ready = this.pending.ready(this.r.vv);
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
    const max = this.r.options.maxPending ?? 10_000;
    if (this.pending.size - ready > max) return `more than ${max} changes wait for their predecessors`;
    const maxBytes = this.r.options.maxPendingBytes ?? 64 * 1024 * 1024;
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
  private async flushPending(ready = this.pending.ready(this.r.vv)): Promise<number> {
    await this.applyReady(ready);
    for (const c of ready) this.pending.delete(c);
    return ready.length;
  }

  private async applyReady(ready: readonly Change[]): Promise<number> {
    if (ready.length === 0) return 0;
    const touched = new Map<string, { collection: CollectionState; id: string; doc: Document }>();
    const version = this.r.vv.clone();
    for (const c of ready) {
      this.r.receive(c);
      const collection = this.r.state(c.collection);
      const key = docKey(c.collection, c.docId);
      let s = touched.get(key);
      if (!s) {
        s = { collection, id: c.docId, doc: collection.writable(c.docId) };
        touched.set(key, s);
      }
      s.doc.state.join(c.ops);
      version.advance(c.dot.replica, c.dot.seq);
    }
    const docs = [...touched.values()].map((s) => stage(s.collection, s.id, s.doc));
    await this.r.commit(ready, version, docs);
    this.r.install('remote', ready, version, docs);
    return ready.length;
  }

  /**
   * Joins a snapshot from a peer (see `changesSince`); afterwards this replica is at least at its
   * version. The snapshot's states become this database's: don't change them afterwards.
   */
  applySnapshot(snapshot: Snapshot): Promise<void> {
    return this.r.exclusive(async () => {
      // Documents this replica never had are adopted in their stored form, the others joined.
      // Every state is checked by decoding it: a snapshot comes from a peer, not from this
      // replica's server, and a state that cannot be decoded must not be adopted unread.
      const integration = new Integration((name) => this.r.state(name));
      const check = new StoredCheck(this.r.interner);
      let docs: StagedDocument[];
      try {
        for (const d of snapshot.docs) {
          // A state held already, byte for byte, is left alone: no work, no event. A node of a
          // deployment that loads its log's snapshot while serving holds most of it, and every
          // document staged went out to every one of its clients again.
          const state = this.r.state(d.collection);
          const held = state.has(d.id) ? state.storedForm(d.id) : undefined;
          if (held && sameBytes(held, d.stored)) continue;
          const value = d.value ?? storedValue(d.stored, d.id);
          integration.state(d.collection, d.id, d.stored, value, check.check(d.stored, value));
        }
        docs = integration.staged();
      } catch (e) {
        if (e instanceof DecodeError)
          throw new DbError('BAD_CHANGE', `a document state in the snapshot: ${e.message}`);
        throw e;
      }
      const version = this.r.vv.clone().merge(snapshot.version);
      // This log lacks what the snapshot folded in: peers behind it get a snapshot from here too.
      const horizon = this.r.horizon.clone();
      for (const [r, seq] of snapshot.version.entries()) if (r !== this.r.replicaId) horizon.advance(r, seq);
      await this.r.commit([], version, docs, [[META_HORIZON, encodeVersionVector(horizon)]]);
      this.r.horizon.merge(horizon);
      this.r.install('remote', [], version, docs);
      await this.flushPending();
    });
  }

  /**
   * Drops logged changes up to `horizon` (default: everything applied). Document states are
   * always stored whole, so nothing is lost: a peer behind the horizon gets a snapshot. Once this
   * replica has synced with a server, its own changes the server has not acknowledged stay.
   */
  compact(horizon: VersionVector = this.r.vv): Promise<void> {
    return this.r.exclusive(async () => {
      const next = this.r.horizon.clone();
      // This replica's changes a sync server has not acknowledged are its outbox: kept.
      const outbox = this.r.ackedSeq() ?? Number.POSITIVE_INFINITY;
      for (const [r, seq] of horizon.entries())
        next.advance(r, Math.min(seq, this.r.vv.get(r), r === this.r.replicaId ? outbox : seq));
      await this.r.storage.compact(new Map(next.entries()));
      await this.r.storage.commit({
        changes: [],
        docs: [],
        meta: new Map([[META_HORIZON, encodeVersionVector(next)]]),
      });
      this.r.horizon.merge(next);
    });
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
