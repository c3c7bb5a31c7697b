import type { ReplicaId, VersionVector } from '@concord/crdt';
import type { Change, ChangeEvent } from '@concord/db';
import type { DocRef, DocState, Replica, SubscriptionState } from '@concord/db/internal';
import type { SubscriptionFilter, Transition } from './SubscriptionFilter.js';

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

/** One document a commit (or a catch-up) changed: others' changes, the client's own, and its before/after. */
interface Changed {
  readonly collection: string;
  readonly id: string;
  readonly changes: Change[];
  readonly own: Change[];
  transition?: Transition;
}

/**
 * Partial replication for one client: what it needs of these changes — for each document, its
 * subscriptions' decisions (SubscriptionFilter) combined: its whole state if any subscription
 * needs it whole, else its changes if any needs them, else an eviction if one saw it leave.
 * `transitions` (live delivery) are every document the commit changed, with its JSON before and
 * after; `wanted` says which changes a subscription still lacks (catching up from a cursor).
 */
export function select(
  replica: Replica,
  subs: readonly Sub[],
  client: ReplicaId | undefined,
  changes: readonly Change[],
  wanted: (s: Sub, c: Change) => boolean,
  transitions?: ChangeEvent['docs'],
): Outgoing {
  const byDoc = new Map<string, Changed>();
  for (const c of changes) {
    if (!subs.some((s) => s.filter.collection === c.collection && wanted(s, c))) continue;
    const e = changed(byDoc, c.collection, c.docId);
    (c.dot.replica === client ? e.own : e.changes).push(c);
  }
  for (const d of transitions ?? [])
    if (subs.some((s) => s.filter.collection === d.collection))
      changed(byDoc, d.collection, d.docId).transition = { before: d.before, after: d.after };
  const out: Outgoing = { changes: [], docs: [], evict: [] };
  for (const e of byDoc.values()) {
    const current = replica.documentValue(e.collection, e.id);
    let state = false;
    let deltas = false;
    let evict = false;
    for (const s of subs) {
      if (s.filter.collection !== e.collection) continue;
      const d = s.filter.decide(
        e.changes.filter((c) => wanted(s, c)),
        current,
        e.own.some((c) => wanted(s, c)),
        e.transition,
      );
      state ||= d === 'state';
      deltas ||= d === 'changes';
      evict ||= d === 'evict';
    }
    if (state) {
      const stored = replica.storedDocument(e.collection, e.id);
      if (stored) out.docs.push({ collection: e.collection, id: e.id, stored });
    } else if (deltas) out.changes.push(...e.changes);
    else if (evict) out.evict.push({ collection: e.collection, id: e.id });
  }
  return out;
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
