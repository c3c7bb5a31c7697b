import type { CollectionState, Doc } from './CollectionState.js';
import { checkQuery, matches, type Query } from './query/Query.js';

/** What changed in a live query's result since the last callback, by document id. */
export interface ResultChanges {
  readonly added: string[];
  readonly removed: string[];
  readonly updated: string[];
}

export type Observer<T extends object = Record<string, unknown>> = (
  docs: Doc<T>[],
  changes: ResultChanges,
) => void;

/**
 * A query kept up to date: called at once with the current result, then once per committed
 * transaction or batch of remote changes that alters the result — and only then.
 */
export class LiveQuery {
  private result: Doc[];

  constructor(
    private readonly state: CollectionState,
    private readonly query: Query,
    private readonly observer: Observer,
  ) {
    checkQuery(query);
    this.result = state.find(query);
    observer(this.result, { added: this.result.map((d) => d._id), removed: [], updated: [] });
  }

  /** Called after a commit with the documents it changed in this collection, old and new JSON. */
  notify(changed: ReadonlyArray<{ readonly docId: string; readonly after: Doc | undefined }>): void {
    const inResult = new Set(this.result.map((d) => d._id));
    let relevant = false;
    for (const { docId, after } of changed) {
      if (inResult.has(docId) || (after && matches(after, this.query.where))) {
        relevant = true;
        break;
      }
    }
    if (!relevant) return;
    const next = this.state.find(this.query);
    const nextIds = new Set(next.map((d) => d._id));
    const before = new Map(this.result.map((d) => [d._id, d]));
    const added = next.filter((d) => !before.has(d._id)).map((d) => d._id);
    const removed = this.result.filter((d) => !nextIds.has(d._id)).map((d) => d._id);
    const updated = next.filter((d) => before.has(d._id) && before.get(d._id) !== d).map((d) => d._id);
    const reordered = next.some((d, i) => this.result[i]?._id !== d._id);
    this.result = next;
    if (added.length || removed.length || updated.length || reordered) {
      this.observer(next, { added, removed, updated });
    }
  }
}
