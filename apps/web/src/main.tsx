import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { ChangeLog } from './ChangeLog.js';
import { Connection } from './Connection.js';
import { openReplica } from './replica.js';
import './styles.css';

const root = createRoot(document.getElementById('root')!);
root.render(<p className="boot">Opening this tab’s database…</p>);

try {
  const { db, slot } = await openReplica();
  const log = new ChangeLog(db);
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/sync`;
  const connection = new Connection(db, url, `concord-${slot}`);
  root.render(
    <StrictMode>
      <App db={db} connection={connection} log={log} slot={slot} />
    </StrictMode>,
  );
} catch (e) {
  root.render(
    <div className="boot error" role="alert">
      <h1>Concord could not open its database</h1>
      <p>{(e as Error).message}</p>
      <p>This page keeps its data in IndexedDB: a private window or blocked storage prevents that.</p>
    </div>,
  );
}
