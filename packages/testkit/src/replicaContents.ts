import type { Conflict, Database, Doc, FieldKind, Query } from '@concord/db';

/** One document as replicas compare it: its JSON, the losing values of its registers, and which CRDT each property is. */
export interface ReplicaDocument {
  readonly doc: Doc;
  readonly conflicts: Conflict[];
  readonly kinds: FieldKind[];
}

/**
 * What a replica holds of `collections` (those `where` selects, for a partial replica), in id
 * order — not only the documents' JSON but their conflicts and property kinds, which come from
 * the CRDT states: two replicas that agree on every value but not on a conflict's loser, or on
 * whether a property is a counter, have not converged.
 */
export async function replicaContents(
  db: Database,
  collections: readonly string[],
  where?: Query['where'],
): Promise<Record<string, ReplicaDocument[]>> {
  const out: Record<string, ReplicaDocument[]> = {};
  for (const name of collections) {
    const c = db.collection(name);
    const docs = await c.find({ ...(where ? { where } : {}), sort: { _id: 'asc' } });
    out[name] = await Promise.all(
      docs.map(async (doc) => ({
        doc,
        conflicts: await c.conflicts(doc._id),
        kinds: await c.kinds(doc._id),
      })),
    );
  }
  return out;
}
