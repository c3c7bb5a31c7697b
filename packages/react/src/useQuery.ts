import type { Collection, Doc, Query } from '@concord/db';
import { useEffect, useState } from 'react';
import { useDatabase } from './ConcordProvider.js';

/**
 * A live query: the documents `query` selects, kept up to date — the component renders again
 * only when the result changes (a write elsewhere, a change synced in). Undefined until the
 * first result. `collection` is a name, or a typed `Collection` whose type the result takes.
 */
export function useQuery<T extends object = Record<string, unknown>>(
  collection: string | Collection<T>,
  query: Query = {},
): Doc<T>[] | undefined {
  const db = useDatabase();
  const [docs, setDocs] = useState<Doc<T>[] | undefined>(undefined);
  const name = typeof collection === 'string' ? collection : collection.name;
  const key = JSON.stringify(query);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the query is compared by its JSON, not its identity
  useEffect(() => {
    setDocs(undefined);
    return db.collection<T>(name).observe(query, (result) => setDocs(result));
  }, [db, name, key]);
  return docs;
}

/** One document, kept up to date; undefined while loading and when there is none. */
export function useDocument<T extends object = Record<string, unknown>>(
  collection: string | Collection<T>,
  id: string,
): Doc<T> | undefined {
  return useQuery<T>(collection, { where: { _id: id } })?.[0];
}
