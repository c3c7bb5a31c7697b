import type { ORMap } from '@concord/crdt';
import type { Change } from './Change.js';
import type { CollectionState, Doc } from './CollectionState.js';
import type { Document } from './Document.js';
import { type StagedDocument, stage } from './StagedDocument.js';
import { storedDocument, storedValue } from './StoredDocument.js';

/** One document being integrated: a decoded state to join into, a stored one to adopt as is, or (empty) an eviction. */
interface Work {
  readonly collection: CollectionState;
  readonly id: string;
  doc: Document | undefined;
  adopt: Uint8Array | undefined;
  value: Doc | undefined;
}

const EVICTED = new Uint8Array(0);

/**
 * What one `Database.integrate` call does to the documents a sync server sent, staged on copies
 * before anything is committed: evictions, whole states (adopted without decoding when this
 * replica never had the document), deltas, and rollbacks to the server's state.
 */
export class Integration {
  /**
   * By collection, then id: no joined key per document (a snapshot's chunk is thousands, and a
   * new string per document to hash cost more than the map itself).
   */
  private readonly work = new Map<string, Map<string, Work>>();
  /** Documents adopted whole that the batch names once (`adopt`): staged as they come, no work entry. */
  private readonly adopted: StagedDocument[] = [];

  constructor(private readonly resolve: (collection: string) => CollectionState) {}

  private entry(collection: string, id: string): Work {
    let docs = this.work.get(collection);
    if (!docs) {
      docs = new Map();
      this.work.set(collection, docs);
    }
    let w = docs.get(id);
    if (!w) {
      w = { collection: this.resolve(collection), id, doc: undefined, adopt: undefined, value: undefined };
      docs.set(id, w);
    }
    return w;
  }

  /** The document's decoded copy to change (decoding an adopted state if need be). */
  private writable(w: Work): Document {
    if (!w.doc)
      w.doc = w.adopt?.length
        ? storedDocument(w.adopt, undefined, w.collection.interner)
        : w.collection.writable(w.id);
    w.adopt = undefined;
    return w.doc;
  }

  evict(collection: string, id: string): void {
    const w = this.entry(collection, id);
    w.doc = undefined;
    w.adopt = EVICTED;
  }

  /** A whole state in stored form (`value`: its JSON, `decoded`: its CRDT, where the caller has them already). */
  state(collection: string, id: string, stored: Uint8Array, value?: Doc, decoded?: Document): void {
    const w = this.entry(collection, id);
    if (!w.doc && !w.adopt?.length && !w.collection.knows(id)) {
      w.adopt = stored;
      w.value = value;
    } else
      this.writable(w).state.join((decoded ?? storedDocument(stored, value, w.collection.interner)).state);
  }

  /**
   * A whole state of a document its collection does not know (`CollectionState.knows`), which
   * nothing else in this integration names: the caller knows it is named once (a snapshot's
   * chunk, in strictly ascending ids, alone in its batch), so it skips the work map.
   */
  adopt(collection: CollectionState, id: string, stored: Uint8Array, value = storedValue(stored, id)): void {
    this.adopted.push(
      value
        ? { collection, id, doc: undefined, value, stored, adopted: true }
        : { collection, id, doc: undefined, value, stored },
    );
  }

  join(collection: string, id: string, ops: ORMap): void {
    this.writable(this.entry(collection, id)).state.join(ops);
  }

  /** Resets the document to the server's state, then re-applies `reapply` (a rollback). */
  replace(collection: string, id: string, stored: Uint8Array, reapply: readonly Change[]): void {
    const w = this.entry(collection, id);
    w.doc = storedDocument(stored, undefined, w.collection.interner);
    w.adopt = undefined;
    for (const c of reapply) w.doc.state.join(c.ops);
  }

  /** What the integration stages, once it is complete (called once: adopted documents are not copied). */
  staged(): StagedDocument[] {
    const out: StagedDocument[] = this.adopted;
    for (const docs of this.work.values())
      for (const w of docs.values()) {
        if (w.doc) out.push(stage(w.collection, w.id, w.doc));
        else if (w.adopt?.length) this.adopt(w.collection, w.id, w.adopt, w.value);
        else if (w.collection.has(w.id))
          out.push({ collection: w.collection, id: w.id, doc: undefined, value: undefined, stored: EVICTED });
      }
    return out;
  }
}
