import { useSyncStatus } from '@concord/react';
import type { Connection } from './Connection.js';
import { useConnection } from './hooks.js';

const STATUS_TEXT: Readonly<Record<string, string>> = {
  connecting: 'Connecting…',
  syncing: 'Syncing…',
  live: 'Live',
  offline: 'Offline',
  closed: 'Offline',
};

/** Connection status, initial-sync progress, unsent changes, and the offline switch: always in view. */
export function ConnectionBar({ connection }: { connection: Connection }) {
  const state = useConnection(connection);
  const { pending } = useSyncStatus();
  const status = state.online ? state.status : 'offline';
  const p = state.progress;
  return (
    <div className="connection">
      <span className={`status status-${status}`} data-testid="status" data-status={status} role="status">
        <span className="dot" aria-hidden="true" />
        {STATUS_TEXT[status] ?? status}
        {p && status === 'syncing' && (
          <span className="progress" data-testid="progress">
            <progress max={p.totalDocs} value={p.docs} aria-label="Initial sync" />
            {p.docs.toLocaleString()} / {p.totalDocs.toLocaleString()}
          </span>
        )}
      </span>
      {pending > 0 && (
        <span
          className="pending"
          data-testid="pending"
          title="Changes made here that the server has not acknowledged yet"
        >
          {pending} unsent
        </span>
      )}
      {state.error && state.online && status !== 'live' && (
        <span className="conn-error" title={state.error.message}>
          {state.error.code}
        </span>
      )}
      <button
        type="button"
        className={state.online ? '' : 'primary'}
        onClick={() => void connection.setOnline(!state.online)}
        data-testid="toggle-online"
      >
        {state.online ? 'Go offline' : 'Go online'}
      </button>
    </div>
  );
}
