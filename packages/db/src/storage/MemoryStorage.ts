import type { ReplicaId } from '@concord/crdt';
import type { Commit, Storage, StoredChange, StoredDoc } from './Storage.js';

/** Storage in memory, for tests and ephemeral replicas. Durable for as long as the process lives. */
export class MemoryStorage implements Storage {
  private readonly meta = new Map<string, Uint8Array>();
  /** States by collection, then id: no record or joined key per document, which a big collection would feel. */
  private readonly docs = new Map<string, Map<string, Uint8Array>>();
  private readonly log = new Map<ReplicaId, StoredChange[]>();
  private readonly attachments = new Map<string, Uint8Array>();

  async load(): Promise<{ meta: Map<string, Uint8Array>; docs: StoredDoc[] }> {
    const docs: StoredDoc[] = [];
    for (const [collection, states] of this.docs)
      for (const [id, state] of states) docs.push({ collection, id, state });
    return { meta: new Map(this.meta), docs };
  }

  async commit(commit: Commit): Promise<void> {
    for (const c of commit.changes) {
      let list = this.log.get(c.replica);
      if (!list) {
        list = [];
        this.log.set(c.replica, list);
      }
      // Changes of one replica are committed in order; a repeat of a stored one is ignored.
      if (list.length > 0 && list[list.length - 1]!.seq >= c.seq) continue;
      list.push(c);
    }
    for (const d of commit.docs) {
      let states = this.docs.get(d.collection);
      if (!states) {
        states = new Map();
        this.docs.set(d.collection, states);
      }
      if (d.state.length === 0) states.delete(d.id);
      else states.set(d.id, d.state);
    }
    for (const [k, v] of commit.meta) this.meta.set(k, v);
  }

  async changes(replica: ReplicaId, after: number, limit = Number.MAX_SAFE_INTEGER): Promise<StoredChange[]> {
    return (this.log.get(replica) ?? []).filter((c) => c.seq > after).slice(0, limit);
  }

  async compact(upTo: ReadonlyMap<ReplicaId, number>): Promise<void> {
    for (const [replica, seq] of upTo) {
      const list = this.log.get(replica);
      if (list)
        this.log.set(
          replica,
          list.filter((c) => c.seq > seq),
        );
    }
  }

  async putAttachment(hash: string, bytes: Uint8Array): Promise<void> {
    if (!this.attachments.has(hash)) this.attachments.set(hash, bytes.slice());
  }

  async getAttachment(hash: string): Promise<Uint8Array | undefined> {
    return this.attachments.get(hash)?.slice();
  }

  async close(): Promise<void> {}
}
