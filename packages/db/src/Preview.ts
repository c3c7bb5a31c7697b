import type { Change } from './Change.js';
import type { Doc } from './CollectionState.js';
import { Document } from './Document.js';

/**
 * What changes would make of their documents, one after another, without applying any: a sync
 * server authorises and validates each incoming change by the document before and after it,
 * then applies the accepted ones as one batch. A change counts for the ones after it only once
 * `keep` is called (a refused change must not colour the next change's view).
 */
export class Preview {
  private readonly staged = new Map<string, Document>();

  constructor(private readonly lookup: (collection: string, id: string) => Document | undefined) {}

  apply(c: Change): { before: Doc | undefined; after: Doc | undefined; keep(): void } {
    const key = `${c.collection}\u0000${c.docId}`;
    const base = this.staged.get(key) ?? this.lookup(c.collection, c.docId);
    const doc = base ? base.clone() : new Document();
    const before = base?.value(c.docId) as Doc | undefined;
    doc.state.join(c.ops);
    return {
      before,
      after: doc.value(c.docId) as Doc | undefined,
      keep: () => this.staged.set(key, doc),
    };
  }
}
