import type { Database, SyncClient } from '@concord/db';
import { createContext, type ReactNode, useContext } from 'react';

interface Concord {
  readonly db: Database;
  readonly sync: SyncClient | undefined;
}

const ConcordContext = createContext<Concord | undefined>(undefined);

/**
 * Makes a database — and, if the app syncs, its sync client — available to the hooks below it.
 * Give a new `sync` when the app starts another (a new token, other subscriptions): the hooks
 * follow it.
 */
export function ConcordProvider(props: {
  db: Database;
  sync?: SyncClient | undefined;
  children?: ReactNode;
}) {
  return (
    <ConcordContext.Provider value={{ db: props.db, sync: props.sync }}>
      {props.children}
    </ConcordContext.Provider>
  );
}

/** The provider's database and sync client; throws outside a `ConcordProvider`. */
export function useConcord(): Concord {
  const concord = useContext(ConcordContext);
  if (!concord) throw new Error('Concord hooks need a <ConcordProvider db={…}> above them');
  return concord;
}

/** The provider's database. */
export function useDatabase(): Database {
  return useConcord().db;
}
