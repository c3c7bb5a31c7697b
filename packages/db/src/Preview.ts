import type { ORMap } from '@concord/crdt';
import type { Change } from './Change.js';
import type { Doc } from './CollectionState.js';
import { Document, type WriteContext } from './Document.js';

/**
 * What changes would make of their documents, one after another, without applying any: a sync
 * server authorises and validates each incoming change by the document before and after it,
 * then applies the accepted ones as one batch. A change counts for the ones after it only once
 * `keep` is called (a refused change must not colour the next change's view).
 */
export class Preview {
  private readonly staged = new Map<string, Document>();

  constructor(
    private readonly lookup: (collection: string, id: string) => Document | undefined,
    /** How this replica writes into `collection` now (its id, a timestamp, the kinds). */
    private readonly context: (collection: string) => WriteContext,
  ) {}

  apply(c: Change): {
    before: Doc | undefined;
    after: Doc | undefined;
    keep(): void;
    upsert(fields: Record<string, unknown>): { after: Doc | undefined; ops: ORMap | undefined };
  } {
    const key = `${c.collection}\u0000${c.docId}`;
    const base = this.staged.get(key) ?? this.lookup(c.collection, c.docId);
    const doc = base ? base.clone() : new Document();
    const before = base?.value(c.docId) as Doc | undefined;
    doc.state.join(c.ops);
    return {
      before,
      after: doc.value(c.docId) as Doc | undefined,
      keep: () => this.staged.set(key, doc),
      // What this replica upserting `fields` after the change would make (a validation hook's
      // amendment): the document then, and the ops of that write. On a copy; DbError if unfit.
      upsert: (fields) => {
        const amended = doc.clone();
        const ops = amended.write(c.docId, fields, this.context(c.collection), 'merge');
        return { after: amended.value(c.docId) as Doc | undefined, ops };
      },
    };
  }
}
