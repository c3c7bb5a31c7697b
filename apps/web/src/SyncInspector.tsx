import type { VersionVector } from '@concord/crdt';
import type { Database } from '@concord/db';
import type { Peer } from '@concord/server';
import { useSyncExternalStore } from 'react';
import type { ChangeLog } from './ChangeLog.js';
import type { Connection } from './Connection.js';
import { useConnection, useDerived, usePolled } from './hooks.js';
import { clockTime, shortId } from './values.js';

/**
 * What sync is doing, from this replica: its id and version vector, the outbox (its own changes
 * the server has not acknowledged), the clients connected to the server, and the latest changes
 * with their dots and hybrid logical clock times.
 */
export function SyncInspector(props: { db: Database; connection: Connection; log: ChangeLog; name: string }) {
  const { db, connection, log, name } = props;
  const state = useConnection(connection);
  const version = useDerived(db, async () => entries(db.version()), []);
  const server = useDerived(db, async () => entries(connection.serverVersion()), [state.status]);
  // Acknowledgements change no document, so no change event says the outbox shrank: polled.
  const outbox = useDerived(db, () => db.outbox(), [], 1000);
  const peers = usePolled<Peer[]>('/api/peers', 2000, state.online);
  const recent = useSyncExternalStore(log.subscribe, log.state);

  return (
    <section className="panel inspector" aria-labelledby="inspector-title">
      <header className="panel-header">
        <h2 id="inspector-title">Sync inspector</h2>
      </header>
      <div className="grid">
        <div className="card">
          <h3>This replica</h3>
          <dl>
            <dt>Replica id</dt>
            <dd>
              <code data-testid="replica-id">{db.replicaId}</code>
            </dd>
            <dt>Storage</dt>
            <dd>IndexedDB · {name}</dd>
            <dt>Following</dt>
            <dd>
              {state.subscriptions
                .map((s) => (s.where ? `${s.collection} where ${JSON.stringify(s.where)}` : s.collection))
                .join(', ')}
            </dd>
          </dl>
        </div>
        <div className="card">
          <h3>Version vector</h3>
          <Vector entries={version} self={db.replicaId} empty="No changes made here yet." />
          <h3 className="sub">Server, caught up to</h3>
          <Vector
            entries={server}
            self={db.replicaId}
            empty={state.status === 'live' ? 'Nothing on the server yet.' : 'Not connected.'}
          />
        </div>
        <div className="card">
          <h3>
            Outbox{' '}
            <span className="badge" data-testid="outbox-count">
              {outbox?.length ?? 0}
            </span>
          </h3>
          {(outbox ?? []).length === 0 ? (
            <p className="empty">Every change made here is on the server.</p>
          ) : (
            <ul className="list">
              {(outbox ?? []).slice(0, 20).map((c) => (
                <li key={c.dot.seq}>
                  <code>#{c.dot.seq}</code> {c.collection}/{c.docId}{' '}
                  <span className="muted">{clockTime(c.hlc.wall)}</span>
                </li>
              ))}
            </ul>
          )}
        </div>
        <div className="card">
          <h3>Connected peers</h3>
          {!state.online ? (
            <p className="empty">Offline: peers are unknown.</p>
          ) : peers === undefined ? (
            <p className="empty">Asking the server…</p>
          ) : (
            <ul className="list" data-testid="peers">
              {peers.map((p) => (
                <li key={`${p.replica}-${p.since}`} title={p.replica}>
                  <code>{shortId(p.replica)}</code>
                  {p.replica === db.replicaId && <span className="badge">this tab</span>}{' '}
                  <span className={`badge phase-${p.phase}`}>{p.phase}</span>{' '}
                  <span className="muted">{p.subscriptions.map((s) => s.collection).join(', ')}</span>
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>
      <div className="card">
        <h3>Recent changes</h3>
        {recent.length === 0 ? (
          <p className="empty">None since this page opened.</p>
        ) : (
          <div className="scroll">
            <table className="table compact" data-testid="recent">
              <thead>
                <tr>
                  <th>Origin</th>
                  <th>Document</th>
                  <th>Dot</th>
                  <th>HLC</th>
                </tr>
              </thead>
              <tbody>
                {recent.map((r, i) => (
                  <tr
                    key={
                      r.change
                        ? `${r.change.dot.replica}:${r.change.dot.seq}`
                        : `${r.collection}/${r.docId}/${i}`
                    }
                  >
                    <td>
                      <span className={`badge origin-${r.origin}`}>{r.origin}</span>
                    </td>
                    <td>
                      {r.collection}/{r.docId}
                    </td>
                    <td title={r.change?.dot.replica}>
                      {r.change ? (
                        <code>
                          {shortId(r.change.dot.replica)}:{r.change.dot.seq}
                        </code>
                      ) : (
                        <span className="muted">whole state</span>
                      )}
                    </td>
                    <td>
                      {r.change && (
                        <code>
                          {clockTime(r.change.hlc.wall)} · {r.change.hlc.logical}
                        </code>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </section>
  );
}

function entries(v: VersionVector | undefined): Array<[string, number]> {
  return [...(v?.entries() ?? [])].sort(([a], [b]) => a.localeCompare(b));
}

/** A version vector: each replica (short id, the full one on hover) and how many of its changes. */
function Vector(props: { entries: Array<[string, number]> | undefined; self: string; empty: string }) {
  const rows = props.entries ?? [];
  if (rows.length === 0) return <p className="empty">{props.empty}</p>;
  return (
    <table className="table compact">
      <tbody>
        {rows.map(([replica, seq]) => (
          <tr key={replica}>
            <td title={replica}>
              <code>{shortId(replica)}</code>
              {replica === props.self && <span className="badge">this tab</span>}
            </td>
            <td className="num">{seq}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
