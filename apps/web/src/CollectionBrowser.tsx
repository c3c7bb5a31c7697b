import type { Database, Doc, FieldKind } from '@concord/db';
import { useQuery } from '@concord/react';
import { useState } from 'react';
import type { Connection } from './Connection.js';
import { useConnection, useDerived, usePolled } from './hooks.js';
import { formatValue } from './values.js';

/** Documents shown at once; the count says how many there are. */
const PAGE = 100;
/** Columns shown in the document table; every field is in the document's detail. */
const COLUMNS = 6;

/**
 * Any collection: those on the server (those this replica may read) and those it holds. Opening
 * one this replica does not follow subscribes to it; its documents then sync like any others.
 * A document's detail shows each field with the CRDT it is.
 */
export function CollectionBrowser({ db, connection }: { db: Database; connection: Connection }) {
  const state = useConnection(connection);
  const remote = usePolled<Array<{ name: string; documents: number }>>(
    '/api/collections',
    5000,
    state.online,
  );
  const local = useDerived(db, async () => db.collectionNames(), []);
  const names = [...new Set([...(remote ?? []).map((c) => c.name), ...(local ?? [])])].sort();
  const [selected, setSelected] = useState<string | undefined>();

  const open = (name: string) => {
    setSelected(name);
    void connection.follow(name);
  };

  return (
    <section className="panel" aria-labelledby="browser-title">
      <header className="panel-header">
        <h2 id="browser-title">Collections</h2>
        <p className="hint">Every collection on the server and on this replica; open one to follow it.</p>
      </header>
      {names.length === 0 ? (
        <p className="empty">
          No collections yet. Add an entry in the editor, or run <code>npm run demo</code>.
        </p>
      ) : (
        <div className="browser">
          <ul className="collections" aria-label="Collections">
            {names.map((name) => {
              const onServer = remote?.find((c) => c.name === name)?.documents;
              return (
                <li key={name}>
                  <button
                    type="button"
                    className={name === selected ? 'selected' : ''}
                    onClick={() => open(name)}
                    data-testid="collection"
                    data-name={name}
                  >
                    <span className="name">{name}</span>
                    <span className="count">
                      {onServer === undefined ? '' : `${onServer} on server`}
                      {state.subscriptions.some((s) => s.collection === name) ? ' · followed' : ''}
                    </span>
                  </button>
                </li>
              );
            })}
          </ul>
          {selected ? (
            <Documents key={selected} db={db} collection={selected} />
          ) : (
            <p className="empty">Choose a collection.</p>
          )}
        </div>
      )}
    </section>
  );
}

function Documents({ db, collection }: { db: Database; collection: string }) {
  const docs = useQuery(collection, { sort: { _id: 'asc' }, limit: PAGE });
  const total = useDerived(db, () => db.collection(collection).count(), [collection]);
  const [open, setOpen] = useState<string | undefined>();
  if (docs === undefined) return <p className="empty">Loading…</p>;
  if (docs.length === 0)
    return <p className="empty">No documents here yet (still syncing, or none readable).</p>;
  const columns = [...new Set(docs.flatMap((d) => Object.keys(d)).filter((k) => k !== '_id'))].slice(
    0,
    COLUMNS,
  );
  return (
    <div className="documents">
      <p className="hint">
        {docs.length < (total ?? 0)
          ? `First ${docs.length} of ${total} documents`
          : `${docs.length} documents`}
      </p>
      <div className="scroll">
        <table className="table">
          <thead>
            <tr>
              <th>_id</th>
              {columns.map((c) => (
                <th key={c}>{c}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {docs.map((d) => (
              <tr
                key={d._id}
                className={d._id === open ? 'selected clickable' : 'clickable'}
                onClick={() => setOpen(d._id === open ? undefined : d._id)}
                data-testid="document"
              >
                <td className="key">{d._id}</td>
                {columns.map((c) => (
                  <td key={c}>
                    <code>{d[c] === undefined ? '' : formatValue(d[c])}</code>
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {open && <Fields db={db} collection={collection} doc={docs.find((d) => d._id === open)} />}
    </div>
  );
}

/** Every field of one document, with the CRDT that holds it. */
function Fields({ db, collection, doc }: { db: Database; collection: string; doc: Doc | undefined }) {
  const kinds = useDerived<FieldKind[]>(db, () => db.collection(collection).kinds(doc?._id ?? ''), [
    collection,
    doc?._id,
  ]);
  if (!doc) return null;
  return (
    <div className="fields" data-testid="fields">
      <h3>{doc._id}</h3>
      <table className="table">
        <thead>
          <tr>
            <th>Field</th>
            <th>CRDT</th>
            <th>Value</th>
          </tr>
        </thead>
        <tbody>
          {(kinds ?? []).map((k) => (
            <tr key={k.path} data-testid="field" data-path={k.path}>
              <td className="key">{k.path}</td>
              <td>
                <span className={`badge kind-${k.kind}`}>{k.kind}</span>
              </td>
              <td>
                <code>{k.kind === 'map' ? '' : formatValue(valueAt(doc, k.path))}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function valueAt(doc: Doc, path: string): unknown {
  let v: unknown = doc;
  for (const part of path.split('.')) v = (v as Record<string, unknown> | undefined)?.[part];
  return v;
}
