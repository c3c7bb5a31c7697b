import type { SyncErrorEvent, SyncProgress, SyncStatus } from '@concord/db';
import { useEffect, useState } from 'react';
import { useConcord } from './ConcordProvider.js';

/** What a UI shows of the sync link. */
export interface SyncState {
  /** `offline` when the provider has no sync client. */
  readonly status: SyncStatus;
  /** The initial snapshot's progress while it streams. */
  readonly progress: SyncProgress | undefined;
  /** The last error reported (a refused change, a failed connection). */
  readonly error: SyncErrorEvent | undefined;
  /** Own changes the server has not acknowledged yet ("not synced"). */
  readonly pending: number;
}

/** The provider's sync client's status, progress, last error and pending changes, as they change. */
export function useSyncStatus(): SyncState {
  const { db, sync } = useConcord();
  const read = (): SyncState => ({
    status: sync?.status ?? 'offline',
    progress: undefined,
    error: sync?.lastError,
    pending: db.unacknowledged(),
  });
  const [state, setState] = useState<SyncState>(read);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `read` is rebuilt per render from db and sync
  useEffect(() => {
    setState(read());
    const update = (change: Partial<SyncState>) =>
      setState((s) => {
        const next = { ...s, ...change, pending: db.unacknowledged() };
        return next.status === s.status &&
          next.progress === s.progress &&
          next.error === s.error &&
          next.pending === s.pending
          ? s
          : next;
      });
    const stops = [
      db.onChange(() => update({})),
      ...(sync
        ? [
            sync.on('status', (status) =>
              update(status === 'live' ? { status, progress: undefined } : { status }),
            ),
            sync.on('progress', (progress) => update({ progress })),
            sync.on('error', (error) => update({ error })),
            sync.on('acknowledged', () => update({})),
          ]
        : []),
    ];
    return () => {
      for (const stop of stops) stop();
    };
  }, [db, sync]);
  return state;
}
