import type { Database, SyncClient } from '@concord/db';
import { useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import type { Connection, ConnectionState } from './Connection.js';
import { ProductIndex, type ProductIndexState } from './ProductIndex.js';

export function useConnection(connection: Connection): ConnectionState {
  return useSyncExternalStore(connection.subscribe, connection.state);
}

/**
 * The connection's sync client alone: a view that needs only it is not drawn again on every
 * progress report (a first sync reports after every chunk).
 */
export function useSyncClient(connection: Connection): SyncClient | undefined {
  return useSyncExternalStore(connection.subscribe, () => connection.state().sync);
}

/** Recomputes `read` now and after every change to the database (and every `everyMs`, if given). */
export function useDerived<T>(
  db: Database,
  read: () => Promise<T>,
  deps: readonly unknown[],
  everyMs?: number,
): T | undefined {
  const [value, setValue] = useState<T | undefined>(undefined);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `read` is rebuilt per render; deps say when it means something else
  useEffect(() => {
    let live = true;
    let running = false;
    let again = false;
    const refresh = async () => {
      if (running) {
        again = true;
        return;
      }
      running = true;
      do {
        again = false;
        const v = await read();
        if (live) setValue(() => v);
      } while (again && live);
      running = false;
    };
    void refresh();
    const stop = db.onChange(() => void refresh());
    const timer = everyMs ? setInterval(() => void refresh(), everyMs) : undefined;
    return () => {
      live = false;
      stop();
      clearInterval(timer);
    };
  }, [db, everyMs, ...deps]);
  return value;
}

/** JSON from the server at `path`, fetched now and every `everyMs` while `enabled`; undefined when unreachable. */
export function usePolled<T>(path: string, everyMs: number, enabled: boolean): T | undefined {
  const [value, setValue] = useState<T | undefined>(undefined);
  useEffect(() => {
    if (!enabled) {
      setValue(undefined);
      return;
    }
    let live = true;
    const load = async () => {
      try {
        const res = await fetch(path);
        const body = res.ok ? ((await res.json()) as T) : undefined;
        if (live) setValue(() => body);
      } catch {
        if (live) setValue(undefined);
      }
    };
    void load();
    const timer = setInterval(() => void load(), everyMs);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [path, everyMs, enabled]);
  return value;
}

/**
 * The replica's products held for a retail view (a store's, given `store`), closed with the view;
 * told by `connection` when an initial sync streams in (see `ProductIndex.streaming`).
 */
export function useProductIndex(
  db: Database,
  connection: Connection,
  store?: string,
): [ProductIndex, ProductIndexState] {
  const index = useMemo(() => new ProductIndex(db, store), [db, store]);
  useEffect(() => () => index.close(), [index]);
  useEffect(() => {
    const follow = () => {
      const p = connection.state().progress;
      index.streaming(p !== undefined && p.docs < p.totalDocs);
    };
    follow();
    return connection.subscribe(follow);
  }, [connection, index]);
  return [index, useSyncExternalStore(index.subscribe, index.state)];
}
