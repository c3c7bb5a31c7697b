import type { ReplicaId, VersionVector } from '@concord/crdt';
import type { Change } from '@concord/db';
import type { DocRef, DocState, Replica, SubscriptionState } from '@concord/db/internal';
import type { Fanout } from './Fanout.js';
import type { Delivery, SubscriptionFilter } from './SubscriptionFilter.js';

/** One of a session's subscriptions: its filter (the client's, narrowed by its grants) and position. */
export interface Sub {
  readonly index: number;
  readonly filter: SubscriptionFilter;
  cursor: VersionVector | undefined;
  resume: SubscriptionState['resume'];
}

/** What one update tells a client: changes, whole states, evictions. */
export interface Outgoing {
  changes: Change[];
  docs: DocState[];
  evict: DocRef[];
}

/** One document a catch-up changed: others' changes and the client's own. */
interface Changed {
  readonly collection: string;
  readonly id: string;
  readonly changes: Change[];
  readonly own: Change[];
}

/**
 * Partial replication for one client catching up from its subscriptions' cursors: what it needs
 * of these changes — for each document, its subscriptions' decisions (SubscriptionFilter)
 * combined: its whole state if any subscription needs it whole, else its changes if any needs
 * them, else an eviction if one saw it leave. `wanted` says which changes a subscription still
 * lacks.
 */
export function select(
  replica: Replica,
  subs: readonly Sub[],
  client: ReplicaId | undefined,
  changes: readonly Change[],
  wanted: (s: Sub, c: Change) => boolean,
): Outgoing {
  const byDoc = new Map<string, Changed>();
  for (const c of changes) {
    if (!subs.some((s) => s.filter.collection === c.collection && wanted(s, c))) continue;
    const e = changed(byDoc, c.collection, c.docId);
    (c.dot.replica === client ? e.own : e.changes).push(c);
  }
  const out: Outgoing = { changes: [], docs: [], evict: [] };
  for (const e of byDoc.values()) {
    const current = replica.documentValue(e.collection, e.id);
    const decisions = subs
      .filter((s) => s.filter.collection === e.collection)
      .map((s) =>
        s.filter.decide(
          e.changes.filter((c) => wanted(s, c)),
          current,
          e.own.some((c) => wanted(s, c)),
        ),
      );
    add(out, replica, e, e.changes, decisions);
  }
  return out;
}

/**
 * `select` for a commit delivered live: every change of it is wanted, and the commit's before
 * and after of each document decide exactly. What every session would compute alike comes
 * from the commit's `Fanout`: its documents grouped, and each filter's verdicts on them.
 */
export function selectLive(
  replica: Replica,
  subs: readonly Sub[],
  client: ReplicaId | undefined,
  fanout: Fanout,
): Outgoing {
  const out: Outgoing = { changes: [], docs: [], evict: [] };
  const wrote = client !== undefined && fanout.writers.has(client);
  const verdicts = subs.map((s) => fanout.verdicts(s.filter));
  const decisions: Delivery[] = [];
  for (const e of fanout.docs) {
    let others = e.changes;
    let own = false;
    if (wrote) {
      others = e.changes.filter((c) => c.dot.replica !== client);
      own = others.length < e.changes.length;
    }
    decisions.length = 0;
    for (let i = 0; i < subs.length; i++) {
      const filter = subs[i]!.filter;
      if (filter.collection !== e.collection) continue;
      // The document's JSON now: read only where a decision needs it — a whole-collection
      // filter told of no changes, or no transition (the common live case reads nothing).
      const current =
        !e.transition || (!filter.where && others.length === 0)
          ? replica.documentValue(e.collection, e.id)
          : undefined;
      if (!e.transition) {
        decisions.push(filter.decide(others, current, own));
        continue;
      }
      let moved = verdicts[i]!.get(e);
      if (!moved) {
        moved = filter.moved(e.transition);
        verdicts[i]!.set(e, moved);
      }
      decisions.push(filter.decideLive(moved, others.length > 0, own, current));
    }
    add(out, replica, e, others, decisions);
  }
  return out;
}

/** Adds what `decisions` (one per subscription on the document's collection) combined ask for. */
function add(
  out: Outgoing,
  replica: Replica,
  e: { readonly collection: string; readonly id: string },
  changes: readonly Change[],
  decisions: readonly Delivery[],
): void {
  if (decisions.includes('state')) {
    const stored = replica.storedDocument(e.collection, e.id);
    if (stored) out.docs.push({ collection: e.collection, id: e.id, stored });
  } else if (decisions.includes('changes')) out.changes.push(...changes);
  else if (decisions.includes('evict')) out.evict.push({ collection: e.collection, id: e.id });
}

function changed(byDoc: Map<string, Changed>, collection: string, id: string): Changed {
  const key = `${collection}\u0000${id}`;
  let e = byDoc.get(key);
  if (!e) {
    e = { collection, id, changes: [], own: [] };
    byDoc.set(key, e);
  }
  return e;
}

/** What identifies an update's content: the dots, documents and version entries it carries. */
export function frameKey(out: Outgoing, version: VersionVector): string {
  let key = '';
  for (const c of out.changes) key += `${c.dot.replica}:${c.dot.seq},`;
  key += '|';
  for (const d of out.docs) key += `${d.collection}\u0000${d.id},`;
  key += '|';
  for (const d of out.evict) key += `${d.collection}\u0000${d.id},`;
  key += '|';
  for (const [r, seq] of version.entries()) key += `${r}:${seq},`;
  return key;
}
