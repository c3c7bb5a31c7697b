import { Decoder, Encoder } from '@concord/crdt/internal';

/**
 * Documents a sync server evicted (they left this replica's subscriptions) while this replica's
 * outbox still changed them. Dropping such a document would drop the replica's own
 * unacknowledged changes from its local state: a counter incremented in flight and adopted
 * again whole from the server would then count from the server's state, and the increments
 * the server has not seen yet would be lost locally and overwritten on the server (issue 16,
 * item 4). So the document is kept — and evicted once the server holds every change of this
 * replica's to it, or forgotten here if the server sends it again (it is back in the
 * subscriptions). Kept in the database's meta, committed with the batch that changed it.
 */
export class DeferredEvictions {
  /** Made on the first entry: decoded for every batch a sync server sends, it is almost always empty. */
  private docs: Map<string, { readonly collection: string; readonly id: string }> | undefined;
  private dirty = false;

  static decode(bytes: Uint8Array | undefined): DeferredEvictions {
    const out = new DeferredEvictions();
    if (!bytes) return out;
    const dec = new Decoder(bytes);
    for (let n = dec.uint(); n > 0; n--) {
      const collection = dec.string();
      const id = dec.string();
      out.docs ??= new Map();
      out.docs.set(docKey(collection, id), { collection, id });
    }
    return out;
  }

  get size(): number {
    return this.docs?.size ?? 0;
  }

  /** Whether `add` or `delete` changed the set since it was decoded. */
  get changed(): boolean {
    return this.dirty;
  }

  add(collection: string, id: string): void {
    const key = docKey(collection, id);
    this.docs ??= new Map();
    if (this.docs.has(key)) return;
    this.docs.set(key, { collection, id });
    this.dirty = true;
  }

  delete(collection: string, id: string): void {
    // Mostly empty: a snapshot's every document is taken out of it.
    if (this.docs?.size && this.docs.delete(docKey(collection, id))) this.dirty = true;
  }

  entries(): Iterable<{ readonly collection: string; readonly id: string }> {
    return this.docs?.values() ?? [];
  }

  encode(): Uint8Array {
    const enc = new Encoder();
    enc.uint(this.size);
    for (const { collection, id } of this.entries()) {
      enc.string(collection);
      enc.string(id);
    }
    return enc.finishRaw();
  }
}

/** One key per document across collections (NUL is in neither a collection name nor an id). */
export function docKey(collection: string, id: string): string {
  return `${collection}\u0000${id}`;
}
