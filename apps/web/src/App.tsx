import type { Database } from '@concord/db';
import { ConcordProvider } from '@concord/react';
import { useState } from 'react';
import type { ChangeLog } from './ChangeLog.js';
import { CollectionBrowser } from './CollectionBrowser.js';
import type { Connection } from './Connection.js';
import { ConnectionBar } from './ConnectionBar.js';
import { HeadOffice } from './HeadOffice.js';
import { useSyncClient } from './hooks.js';
import { KeyValueEditor } from './KeyValueEditor.js';
import { SyncInspector } from './SyncInspector.js';

const TABS = ['Editor', 'Head office', 'Collections', 'Inspector'] as const;
type Tab = (typeof TABS)[number];

export function App(props: { db: Database; connection: Connection; log: ChangeLog; name: string }) {
  const { db, connection } = props;
  const sync = useSyncClient(connection);
  const [tab, setTab] = useState<Tab>(() => {
    const asked = decodeURIComponent(location.hash.slice(1));
    return (TABS as readonly string[]).includes(asked) ? (asked as Tab) : 'Editor';
  });
  const choose = (t: Tab) => {
    setTab(t);
    history.replaceState(null, '', `#${encodeURIComponent(t)}`);
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
              data-testid={`tab-${t.replace(' ', '-')}`}
            >
              {t}
            </button>
          ))}
        </nav>
        <main>
          {tab === 'Editor' && <KeyValueEditor db={db} />}
          {tab === 'Head office' && <HeadOffice db={db} connection={connection} />}
          {tab === 'Collections' && <CollectionBrowser db={db} connection={connection} />}
          {tab === 'Inspector' && <SyncInspector {...props} />}
        </main>
      </div>
    </ConcordProvider>
  );
}
