import { type Change, type Database, DbError, encodeChanges, SyncError } from '@concord/db';
import {
  absentStoredDocument,
  checkCollectionName,
  checkDocument,
  checkId,
  core,
  matches,
} from '@concord/db/internal';
import { mayWrite, type Principal, scope } from './Auth.js';
import type { Proposal, Verdict } from './SyncServer.js';

/** What admission decided for one change: refused with `error`, or accepted (with the hooks' `amend`). */
export interface Outcome {
  readonly change: Change;
  readonly error?: SyncError;
  readonly amend?: Record<string, unknown>;
}

/** What admission needs of the server. */
export interface AdmissionHost {
  readonly db: Database;
  check(p: Proposal): Promise<Verdict>;
  /** Milliseconds since the epoch, the clock incoming timestamps are judged against. */
  now(): number;
  /** How far ahead of `now` a change's timestamp may be. */
  readonly maxDriftMs: number;
  /** The largest change, encoded (`Limits.maxChangeBytes`). */
  readonly maxChangeBytes: number;
}

/**
 * The one way writes get into the server's database, whether pushed by a sync client or made
 * over REST: each change is judged on the document before and after it (in order, each
 * accepted change counting for the next) — its ids storable, its timestamp not too far ahead,
 * within the principal's write scope on both sides, the document after it within the size and
 * nesting limits, passed by the collection's validation hooks. The caller stores what was
 * accepted; `amend` then writes the hooks' amendments as the server's own change, which fans
 * out like any other.
 */
export class Admission {
  constructor(private readonly host: AdmissionHost) {}

  async judge(principal: Principal, changes: readonly Change[]): Promise<Outcome[]> {
    const preview = core(this.host.db).preview();
    const out: Outcome[] = [];
    for (const change of changes) {
      const refusal = this.malformed(change);
      if (refusal) {
        out.push({ change, error: refusal });
        continue;
      }
      const p = preview.apply(change);
      const { collection, docId: id } = change;
      let error: SyncError | undefined;
      let amend: Record<string, unknown> | undefined;
      if (!mayWrite(principal, collection, p.before, p.after))
        error = new SyncError('FORBIDDEN', `no write access to ${collection}/${id}`);
      else error = limitError(collection, id, p.after) ?? this.oversized(change);
      if (!error) {
        const verdict = await this.host.check({
          collection,
          id,
          before: p.before,
          after: p.after,
          principal,
        });
        if (!verdict.ok) error = new SyncError('REJECTED', verdict.reason);
        else if (verdict.amend) {
          amend = verdict.amend;
          error = this.unfitAmendment(change, () => p.upsert(amend!));
        }
      }
      if (!error) p.keep();
      out.push(error ? { change, error } : amend ? { change, amend } : { change });
    }
    return out;
  }

  /** Writes the accepted changes' amendments as one change of the server's per document. */
  async amend(outcomes: readonly Outcome[]): Promise<void> {
    const amends = outcomes.filter((o) => o.amend && !o.error);
    if (amends.length === 0) return;
    await this.host.db.transaction((tx) => {
      for (const { change, amend } of amends) tx.upsert(change.collection, { ...amend, _id: change.docId });
    });
  }

  /**
   * The document a refused change rolls back to, in stored form: the server's, if the principal
   * may read it, else absent — a refusal never reveals what the token does not let it read.
   */
  rollback(principal: Principal, collection: string, id: string): Uint8Array {
    const allowed = scope(principal, collection, 'read');
    if (allowed === null) return absentStoredDocument();
    const doc = core(this.host.db).documentValue(collection, id);
    if (!doc || (allowed !== undefined && !matches(doc, allowed))) return absentStoredDocument();
    return core(this.host.db).storedDocument(collection, id) ?? absentStoredDocument();
  }

  /**
   * Why the hooks' amendment of `change` could not be written after it: the server writes it
   * once the change is stored (`amend`), too late to refuse anything — a document it would take
   * over the limits failed that write, and a change over the log's message wedged the node — so
   * the change is refused with the reason now, as if the change itself were at fault.
   */
  private unfitAmendment(
    change: Change,
    draft: () => { after: unknown; ops: Change['ops'] | undefined },
  ): SyncError | undefined {
    const what = "the validation hooks' amendment of this change";
    let amended: { after: unknown; ops: Change['ops'] | undefined };
    try {
      amended = draft();
    } catch (e) {
      if (e instanceof DbError) return new SyncError('REJECTED', `${what}: ${e.message}`);
      throw e;
    }
    const { collection, docId } = change;
    const error =
      limitError(collection, docId, amended.after) ??
      (amended.ops && this.oversized({ ...change, ops: amended.ops }));
    return error && new SyncError(error.code, `${what}: ${error.message}`);
  }

  /**
   * A change larger than the change log carries in one message: kept, it could never be made
   * durable, and a node acknowledges nothing until all it committed is (`ChangeLog.flush`).
   */
  private oversized(c: Change): SyncError | undefined {
    const max = this.host.maxChangeBytes;
    if (max === Number.POSITIVE_INFINITY) return undefined;
    const size = encodeChanges([c]).length;
    if (size <= max) return undefined;
    return new SyncError(
      'TOO_LARGE',
      `a change of ${size} bytes encoded, over the ${max} one message of the change log carries`,
    );
  }

  /** A change no storage could keep, or whose timestamp is too far ahead: refused on its own. */
  private malformed(c: Change): SyncError | undefined {
    try {
      checkCollectionName(c.collection);
      checkId(c.docId);
    } catch (e) {
      return new SyncError('BAD_ID', (e as DbError).message);
    }
    const ahead = c.hlc.wall - this.host.now();
    if (ahead > this.host.maxDriftMs)
      return new SyncError(
        'CLOCK_DRIFT',
        `the change's clock is ${ahead} ms ahead of the server's (at most ${this.host.maxDriftMs})`,
      );
    return undefined;
  }
}

/** The size or nesting error for a document after a write, if it is over the limits. */
function limitError(collection: string, id: string, after: unknown): SyncError | undefined {
  if (after === undefined) return undefined;
  try {
    checkDocument(collection, id, after);
    return undefined;
  } catch (e) {
    if (e instanceof DbError && (e.code === 'TOO_LARGE' || e.code === 'TOO_DEEP'))
      return new SyncError(e.code, e.message);
    throw e;
  }
}
