import { compareTimestamps, ORMap, type ReplicaId } from '@concord/crdt';
import { type Change, DbError, SyncError } from '@concord/db';
import { core } from '@concord/db/internal';
import type { Principal } from './Auth.js';
import type { SessionHost } from './SyncServer.js';

/**
 * A client's pushed changes: each must be in its own replica's name and new (a resent one must
 * be identical to what the server holds: another under a held dot means the client's storage
 * went back in time, `FORKED`), then admitted (`Admission`). Refused ones are applied as empty
 * changes — the dot is used, nothing of it is stored. Changes that wait for a predecessor hold
 * at most `limits.maxPendingBytes` for this client. Resolves, once everything is durable
 * (`SyncServerOptions.durable`), with the refusals to tell the client.
 */
export async function admitPush(
  host: SessionHost,
  principal: Principal,
  client: ReplicaId,
  changes: readonly Change[],
): Promise<Array<{ change: Change; error: SyncError }>> {
  const db = host.db;
  const held = db.version().get(client);
  const fresh: Change[] = [];
  const rejects: Array<{ change: Change; error: SyncError }> = [];
  let next = held;
  for (const c of changes) {
    if (c.dot.replica !== client)
      throw new SyncError(
        'BAD_REPLICA',
        `a change in the name of ${c.dot.replica} on ${client}'s connection`,
      );
    if (c.dot.seq <= next) {
      const logged =
        c.dot.seq <= held ? await core(db).loggedChange(c.dot) : fresh.find((a) => a.dot.seq === c.dot.seq);
      if (!logged || sameChange(logged, c)) continue;
      // The client's storage went back in time (a backup restored, a copy): it takes a new id.
      if (!logged.ops.equals(ORMap.empty()))
        throw new SyncError(
          'FORKED',
          `change ${c.dot.seq} of ${c.dot.replica} differs from the one the server holds`,
        );
      rejects.push({ change: c, error: new SyncError('REJECTED', 'this change was refused before') });
      continue;
    }
    next = Math.max(next, c.dot.seq);
    fresh.push(c);
  }
  const outcomes = await host.admission.judge(principal, fresh);
  const apply = outcomes.map(({ change, error }) =>
    error ? refused(change, host.now(), error.code !== 'BAD_ID') : change,
  );
  for (const o of outcomes) {
    if (!o.error) continue;
    rejects.push({ change: o.change, error: o.error });
    host.metrics.changesRejected.inc({ code: o.error.code });
  }
  if (apply.length > 0) {
    try {
      await db.applyChanges(apply, { maxHeldBytes: host.limits.maxPendingBytes });
    } catch (e) {
      if (e instanceof DbError && e.code === 'BUFFER_FULL') throw new SyncError('BUFFER_FULL', e.message);
      if (e instanceof DbError) throw new SyncError('BAD_MESSAGE', e.message);
      throw e;
    }
    host.metrics.changesIn.inc(outcomes.filter((o) => !o.error).length);
  }
  await host.admission.amend(outcomes);
  // Held changes resent included: the acknowledgement that follows says they are durable.
  await host.durable();
  return rejects;
}

/**
 * What the server keeps of a refused change: its dot, so the replica's sequence has no gap, and
 * nothing else — not a timestamp ahead of the server's clock, nor ids no storage can keep
 * (`storable` false: a placeholder name stands for them).
 */
function refused(c: Change, now: number, storable: boolean): Change {
  const hlc = c.hlc.wall > now ? { wall: now, logical: 0, replica: c.hlc.replica } : c.hlc;
  const [collection, docId] = storable ? [c.collection, c.docId] : ['-', '-'];
  return { dot: c.dot, hlc, collection, docId, ops: ORMap.empty() };
}

/** Two changes with one dot carry the same content (a dot names one write, so equal ops are equal dots). */
function sameChange(a: Change, b: Change): boolean {
  return (
    a.collection === b.collection &&
    a.docId === b.docId &&
    compareTimestamps(a.hlc, b.hlc) === 0 &&
    a.ops.equals(b.ops)
  );
}
