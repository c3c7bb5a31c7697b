import type { Database } from '@concord/db';
import { ConcordProvider, useSyncStatus } from '@concord/react';
import { useState } from 'react';
import type { ChangeLog } from './ChangeLog.js';
import { CollectionBrowser } from './CollectionBrowser.js';
import type { Connection } from './Connection.js';
import { useConnection } from './hooks.js';
import { KeyValueEditor } from './KeyValueEditor.js';
import { SyncInspector } from './SyncInspector.js';

const TABS = ['Editor', 'Collections', 'Inspector'] as const;
type Tab = (typeof TABS)[number];

const STATUS_TEXT: Readonly<Record<string, string>> = {
  connecting: 'Connecting…',
  syncing: 'Syncing…',
  live: 'Live',
  offline: 'Offline',
  closed: 'Offline',
};

export function App(props: { db: Database; connection: Connection; log: ChangeLog; slot: number }) {
  const { db, connection } = props;
  const { sync } = useConnection(connection);
  const [tab, setTab] = useState<Tab>(() =>
    (TABS as readonly string[]).includes(location.hash.slice(1)) ? (location.hash.slice(1) as Tab) : 'Editor',
  );
  const choose = (t: Tab) => {
    setTab(t);
    history.replaceState(null, '', `#${t}`);
  };
  return (
    <ConcordProvider db={db} sync={sync}>
      <div className="app">
        <header className="top">
          <div className="brand">
            <span className="logo" aria-hidden="true" />
            <h1>Concord</h1>
          </div>
          <ConnectionBar connection={connection} />
        </header>
        <nav className="tabs" aria-label="Views">
          {TABS.map((t) => (
            <button
              key={t}
              type="button"
              role="tab"
              aria-selected={t === tab}
              className={t === tab ? 'tab active' : 'tab'}
              onClick={() => choose(t)}
              data-testid={`tab-${t}`}
            >
              {t}
            </button>
          ))}
        </nav>
        <main>
          {tab === 'Editor' && <KeyValueEditor db={db} />}
          {tab === 'Collections' && <CollectionBrowser db={db} connection={connection} />}
          {tab === 'Inspector' && <SyncInspector {...props} />}
        </main>
      </div>
    </ConcordProvider>
  );
}

/** Connection status, initial-sync progress, unsent changes, and the offline switch: always in view. */
function ConnectionBar({ connection }: { connection: Connection }) {
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
