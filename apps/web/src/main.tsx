import { PRINTED } from '@concord/labels';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { ChangeLog } from './ChangeLog.js';
import { Connection } from './Connection.js';
import { PRODUCTS, STORES } from './ProductIndex.js';
import { openReplica } from './replica.js';
import { StoreApp } from './StoreApp.js';
import './styles.css';

const root = createRoot(document.getElementById('root')!);
root.render(<p className="boot">Opening this tab’s database…</p>);

const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/sync`;
/** `?store=s1`: the store app of store s1, on a replica of its own; otherwise the page's views. */
const store = new URLSearchParams(location.search).get('store');

// The page opens without the server (public/sw.js); not in development, where Vite serves it.
if ('serviceWorker' in navigator && import.meta.env.PROD) void navigator.serviceWorker.register('/sw.js');

try {
  if (store) {
    const { db, name } = await openReplica(`concord-store-${store}`);
    // Partial replication: this store's products, its own print records, its name.
    const connection = new Connection(db, url, name, [
      { collection: PRODUCTS, where: { stores: { $contains: store } } },
      { collection: PRINTED, where: { store } },
      { collection: STORES, where: { _id: store } },
    ]);
    document.title = `Concord · store ${store}`;
    root.render(
      <StrictMode>
        <StoreApp db={db} connection={connection} store={store} />
      </StrictMode>,
    );
  } else {
    const { db, name } = await openReplica('concord');
    const connection = new Connection(db, url, name, [{ collection: 'kv' }]);
    root.render(
      <StrictMode>
        <App db={db} connection={connection} log={new ChangeLog(db)} name={name} />
      </StrictMode>,
    );
  }
} catch (e) {
  root.render(
    <div className="boot error" role="alert">
      <h1>Concord could not open its database</h1>
      <p>{(e as Error).message}</p>
      <p>This page keeps its data in IndexedDB: a private window or blocked storage prevents that.</p>
    </div>,
  );
}
