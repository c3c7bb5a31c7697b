import type { Change, Doc, Where } from '@concord/db';
import { matches } from '@concord/db/internal';

/** What a subscription's client gets for one changed document. */
export type Delivery = 'skip' | 'changes' | 'state' | 'evict';

/** A document's JSON before and after one commit. */
export interface Transition {
  readonly before: Doc | undefined;
  readonly after: Doc | undefined;
}

/**
 * Decides, from the server's side alone, what a partial replica needs when a document changes —
 * without remembering which documents each client holds (seed 000: a store's device holds its
 * own store's products, and a product moving between stores moves between devices).
 *
 * Live, the commit's before and after tell exactly: a document that entered the subscription is
 * sent whole (the client lacks its history), one that left is evicted, one that stayed gets the
 * changes. Catching up over many changes there is no "before": a matching document whose
 * changes set a filtered field, or removed fields, may have entered and is sent whole; a
 * non-matching one may have left and is evicted (evicting one the client never had costs a few
 * bytes and changes nothing). A whole-collection subscription always gets the changes.
 *
 * The client's own writes are never sent back, but they count: a write may move a document
 * across the filter, or touch one the client does not hold, which it must then get whole or drop.
 */
export class SubscriptionFilter {
  /** The top-level fields the filter reads; undefined for a whole-collection subscription. */
  private readonly fields: ReadonlySet<string> | undefined;
  /**
   * What identifies the filter: its collection and its `where`. Sessions whose filters have one
   * key share the filter's verdicts on a commit's documents (`Fanout`).
   */
  readonly key: string;

  constructor(
    readonly collection: string,
    readonly where: Where | undefined,
  ) {
    this.fields = where ? fieldsOf(where) : undefined;
    this.key = `${collection}\u0000${where ? JSON.stringify(where) : ''}`;
  }

  /**
   * `changes`: others' changes to the document (none when only its whole state changed);
   * `current`: its JSON now; `ownWrite`: the client changed it too; `transition`: before and
   * after the one commit being delivered live (absent when catching up).
   */
  decide(
    changes: readonly Change[],
    current: Doc | undefined,
    ownWrite: boolean,
    transition?: Transition,
  ): Delivery {
    if (transition) return this.decideLive(this.moved(transition), changes.length > 0, ownWrite, current);
    if (!this.where || !this.fields)
      return changes.length > 0 ? 'changes' : !ownWrite && current ? 'state' : 'skip';
    if (!this.selects(current)) return 'evict';
    const fields = this.fields;
    const entered =
      ownWrite ||
      changes.length === 0 ||
      changes.some((c) => {
        const keys = c.ops.keys();
        return keys.length === 0 || keys.some((k) => fields.has(k));
      });
    return entered ? 'state' : 'changes';
  }

  /** Whether the document was selected before the commit, and is after. */
  moved(transition: Transition): Moved {
    return { was: this.selects(transition.before), is: this.selects(transition.after) };
  }

  /**
   * `decide` for a commit delivered live, from the filter's verdicts on its before and after
   * (`moved`, shared by every session with this filter); `current` matters only to a
   * whole-collection filter.
   */
  decideLive(moved: Moved, changes: boolean, ownWrite: boolean, current: Doc | undefined): Delivery {
    if (!this.where) return changes ? 'changes' : !ownWrite && current ? 'state' : 'skip';
    if (!moved.is) return moved.was || ownWrite ? 'evict' : 'skip';
    if (!moved.was) return 'state';
    return changes ? 'changes' : ownWrite ? 'skip' : 'state';
  }

  private selects(doc: Doc | undefined): boolean {
    return doc !== undefined && (this.where === undefined || matches(doc, this.where));
  }
}

/** A filter's verdicts on a document before and after a commit. */
export interface Moved {
  readonly was: boolean;
  readonly is: boolean;
}

function fieldsOf(where: Where, into = new Set<string>()): Set<string> {
  for (const [k, cond] of Object.entries(where)) {
    if (k === '$and' || k === '$or') for (const w of cond as Where[]) fieldsOf(w, into);
    else into.add(k.split('.')[0]!);
  }
  return into;
}
