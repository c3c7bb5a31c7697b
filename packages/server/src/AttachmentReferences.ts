import { type Database, isAttachmentRef } from '@concord/db';
import { core } from '@concord/db/internal';

/** A document, by collection and id. */
export interface DocumentName {
  readonly collection: string;
  readonly id: string;
}

/**
 * Which documents reference each attachment, by its hash: whoever may read one of them may read
 * the attachment — its bytes go with the documents that name it. Built from every live document at its
 * first use — a deployment that never serves an attachment to a scoped token never walks its
 * catalogue — and kept current from then on by the database's change events, which give every
 * changed document's JSON before and after.
 */
export class AttachmentReferences {
  /** By hash: the referencing documents, by `collection\0id`. */
  private byHash: Map<string, Map<string, DocumentName>> | undefined;
  private stop: (() => void) | undefined;

  constructor(private readonly db: Database) {}

  /** The documents referencing `hash` now. */
  referrers(hash: string): Iterable<DocumentName> {
    return this.index().get(hash)?.values() ?? [];
  }

  /** Stops following the database. */
  close(): void {
    this.stop?.();
    this.stop = undefined;
    this.byHash = undefined;
  }

  private index(): Map<string, Map<string, DocumentName>> {
    if (this.byHash) return this.byHash;
    const byHash = new Map<string, Map<string, DocumentName>>();
    this.byHash = byHash;
    // Subscribed before the walk, both synchronous: no change falls between them.
    this.stop = this.db.onChange((e) => {
      for (const d of e.docs) {
        if (d.before) this.walk(d.before, (hash) => this.remove(hash, d.collection, d.docId));
        if (d.after) this.walk(d.after, (hash) => this.add(hash, d.collection, d.docId));
      }
    });
    const replica = core(this.db);
    for (const collection of replica.collectionNames())
      for (const id of replica.documentIds(collection)) {
        const value = replica.documentValue(collection, id);
        if (value) this.walk(value, (hash) => this.add(hash, collection, id));
      }
    return byHash;
  }

  private add(hash: string, collection: string, id: string): void {
    let docs = this.byHash!.get(hash);
    if (!docs) {
      docs = new Map();
      this.byHash!.set(hash, docs);
    }
    docs.set(`${collection}\u0000${id}`, { collection, id });
  }

  private remove(hash: string, collection: string, id: string): void {
    const docs = this.byHash!.get(hash);
    if (!docs) return;
    docs.delete(`${collection}\u0000${id}`);
    if (docs.size === 0) this.byHash!.delete(hash);
  }

  /** Calls `found` with the hash of every attachment reference in `value`, at any depth. */
  private walk(value: unknown, found: (hash: string) => void): void {
    if (typeof value !== 'object' || value === null) return;
    if (isAttachmentRef(value)) {
      found(value.$attachment);
      return;
    }
    for (const v of Array.isArray(value) ? value : Object.values(value)) this.walk(v, found);
  }
}
