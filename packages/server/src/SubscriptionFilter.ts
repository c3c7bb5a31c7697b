import type { Change, Doc, Where } from '@concord/db';
import { matches } from '@concord/db';

/** What a subscription's client gets for one changed document. */
export type Delivery = 'skip' | 'changes' | 'state' | 'evict';

/**
 * Decides, from the server's side alone, what a partial replica needs when a document changes —
 * without remembering which documents each client holds. For a filter over fields F:
 * - if no change since the client's cursor touched F (nor removed the document), whether the
 *   document matches is the same as it was at the cursor: matching now means the client has it
 *   and needs only the changes; not matching means it never had it and gets nothing;
 * - if one did, the document may have entered or left: a matching one is sent whole (the
 *   client may lack its history), a non-matching one is evicted (the client may hold it).
 * A whole-collection subscription gets every change. Seed 000: a store's device holds its own
 * store's products, and a product moving between stores moves between devices.
 */
export class SubscriptionFilter {
  /** The top-level fields the filter reads; undefined for a whole-collection subscription. */
  private readonly fields: ReadonlySet<string> | undefined;

  constructor(
    readonly collection: string,
    readonly where: Where | undefined,
  ) {
    this.fields = where ? fieldsOf(where) : undefined;
  }

  /** `changes`: this document's changes since the cursor (none when only its whole state changed); `current`: its JSON now. */
  decide(changes: readonly Change[], current: Doc | undefined): Delivery {
    if (!this.where || !this.fields) return changes.length > 0 ? 'changes' : current ? 'state' : 'skip';
    const fields = this.fields;
    const touched =
      changes.length === 0 ||
      current === undefined ||
      changes.some((c) => c.ops.keys().some((k) => fields.has(k)));
    if (current && matches(current, this.where)) return touched ? 'state' : 'changes';
    return touched ? 'evict' : 'skip';
  }

  /** Whether the document, as it is now, belongs to the subscription. */
  selects(current: Doc | undefined): boolean {
    return current !== undefined && matches(current, this.where);
  }
}

function fieldsOf(where: Where, into = new Set<string>()): Set<string> {
  for (const [k, cond] of Object.entries(where)) {
    if (k === '$and' || k === '$or') for (const w of cond as Where[]) fieldsOf(w, into);
    else into.add(k.split('.')[0]!);
  }
  return into;
}
