import type { Database, SyncClient } from '@concord/db';
import { useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import type { Connection, ConnectionState } from './Connection.js';
import { ProductIndex, type ProductIndexState, type SearchResult } from './ProductIndex.js';

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

/**
 * Search results shown at first, and added by each "Show more": a page of a handheld's screen
 * or two, as search services page their hits (Algolia's InstantSearch shows 20 at a time). A
 * keystroke's results are laid out and painted anew; 50 rows of them took ~12 ms of layout per
 * keystroke in Chromium here, 20 rows ~5 (traced); of 30 keystrokes typed right after a reload
 * of 100,000 products, the slowest took 36–59 ms with 50 rows, 20–40 with 20 (by hand).
 */
export const RESULTS_PAGE = 20;

/** What `useSearch` gives: the results shown, how many match, the search's time, and more of them. */
export interface Search extends SearchResult {
  readonly ms: number;
  /** Shows `RESULTS_PAGE` more of the results (back to one page when the query changes). */
  more(): void;
}

/** `query` searched in `index` as it changes (and as the index does: `version`), a page at a time. */
export function useSearch(index: ProductIndex, query: string, version: number): Search {
  const [pages, setPages] = useState({ query, shown: 1 });
  const shown = pages.query === query ? pages.shown : 1;
  // biome-ignore lint/correctness/useExhaustiveDependencies: `version` says when the index changed
  const found = useMemo(() => {
    const start = performance.now();
    const result = index.search(query, shown * RESULTS_PAGE);
    return { ...result, ms: performance.now() - start };
  }, [index, query, shown, version]);
  return { ...found, more: () => setPages({ query, shown: shown + 1 }) };
}
