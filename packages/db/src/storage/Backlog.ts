import type { StoredDoc } from './Storage.js';

/** Documents kept in a backlog are folded at the latest once they outnumber this (and those folded). */
const FOLD_AT = 1 << 17;
/** A commit of at most this many documents, with nothing kept before it, is folded at once. */
const FEW = 16;

/**
 * Commits' documents kept as they came, each commit's list whole, until an adapter folds them
 * into its map of latest states — when it next reads that map, or once `add` says they are due.
 * A sync chunk's thousands of documents cost one append here, not a map entry each, and most are
 * never read back from storage: the database holds what it committed. Due once they outnumber
 * both 2^17 and the records folded already, so superseded ones stay bounded and each document
 * is folded once; and at once for a few documents with nothing kept before them (a live update):
 * thousands of live updates to one document would otherwise keep a record each until then.
 */
export class Backlog {
  private lists: Array<readonly StoredDoc[]> = [];
  private count = 0;

  /** Keeps a commit's documents; true when, beside `folded` records folded already, they are due. */
  add(docs: readonly StoredDoc[], folded: number): boolean {
    if (docs.length === 0) return false;
    this.lists.push(docs);
    this.count += docs.length;
    return this.count <= FEW || this.count > Math.max(FOLD_AT, folded);
  }

  /** Hands every commit's documents kept to `fold`, in commit order, and forgets them. */
  drain(fold: (docs: readonly StoredDoc[]) => void): void {
    const lists = this.lists;
    this.lists = [];
    this.count = 0;
    for (const list of lists) fold(list);
  }
}
