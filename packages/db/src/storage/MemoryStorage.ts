import type { ReplicaId } from '@concord/crdt';
import { Backlog } from './Backlog.js';
import type { Commit, Storage, StoredChange, StoredDoc } from './Storage.js';

/**
 * Storage in memory, for tests and ephemeral replicas. Durable for as long as the process lives.
 * It keeps what a commit hands it as it is — bytes a change or state makes when first read stay
 * unmade until `load` or `changes` reads them.
 */
export class MemoryStorage implements Storage {
  private readonly meta = new Map<string, Uint8Array>();
  /**
   * States by collection, then id: no joined key per document, which a big collection would
   * feel. A removed document's record (empty state) stays until the id is written again: telling
   * it apart would read a state that may not be made yet.
   */
  private readonly docs = new Map<string, Map<string, StoredDoc>>();
  /** How many records `docs` holds. */
  private folded = 0;
  /** Commits' documents not yet in `docs` (a commit's lists, like its bytes, are handed over): `load` folds them first. */
  private readonly backlog = new Backlog();
  private readonly log = new Map<ReplicaId, StoredChange[]>();
  private readonly attachments = new Map<string, Uint8Array>();

  async load(): Promise<{ meta: Map<string, Uint8Array>; docs: StoredDoc[] }> {
    this.fold();
    const docs: StoredDoc[] = [];
    for (const [collection, states] of this.docs)
      for (const [id, d] of states) if (d.state.length > 0) docs.push({ collection, id, state: d.state });
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
    if (this.backlog.add(commit.docs, this.folded)) this.fold();
    for (const [k, v] of commit.meta) this.meta.set(k, v);
  }

  /** Puts the backlog's documents in `docs`, later ones over earlier ones. */
  private fold(): void {
    this.backlog.drain((list) => {
      for (const d of list) {
        let states = this.docs.get(d.collection);
        if (!states) {
          states = new Map();
          this.docs.set(d.collection, states);
        }
        const size = states.size;
        states.set(d.id, d);
        this.folded += states.size - size;
      }
    });
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
    // Copies by the constructor, not `slice`: a Node Buffer's `slice` is a view of the caller's bytes.
    if (!this.attachments.has(hash)) this.attachments.set(hash, new Uint8Array(bytes));
  }

  async getAttachment(hash: string): Promise<Uint8Array | undefined> {
    const bytes = this.attachments.get(hash);
    return bytes && new Uint8Array(bytes);
  }

  async deleteAttachment(hash: string): Promise<void> {
    this.attachments.delete(hash);
  }

  async close(): Promise<void> {}
}
