import type { Conflict, Database } from '@concord/db';
import { useQuery } from '@concord/react';
import { type FormEvent, useState } from 'react';
import { useDerived } from './hooks.js';
import { formatValue, parseValue, typeOf } from './values.js';

/** The collection the editor edits: one document per entry, `{ _id: key, value }`. */
export const KV = 'kv';

/**
 * The live key-value editor (seed 003): every entry of the `kv` collection, added, edited and
 * removed here or anywhere else, shown as it changes. An entry written concurrently elsewhere
 * shows the value every replica agrees on, and the values that lost on hover.
 */
export function KeyValueEditor({ db }: { db: Database }) {
  const entries = useQuery(KV, { sort: { _id: 'asc' } });
  const conflicts = useDerived(db, async () => {
    const out = new Map<string, Conflict>();
    for (const e of entries ?? []) {
      const c = (await db.collection(KV).conflicts(e._id)).find((x) => x.path === 'value');
      if (c) out.set(e._id, c);
    }
    return out;
  }, [entries]);
  const [error, setError] = useState<string | undefined>();

  const attempt = async (write: () => Promise<unknown>) => {
    try {
      setError(undefined);
      await write();
      return true;
    } catch (e) {
      setError((e as Error).message);
      return false;
    }
  };

  return (
    <section className="panel" aria-labelledby="kv-title">
      <header className="panel-header">
        <h2 id="kv-title">Key-value editor</h2>
        <p className="hint">
          Entries of the <code>{KV}</code> collection. Edits here and in every other tab or browser appear
          live.
        </p>
      </header>
      <AddEntry onAdd={(key, value) => attempt(() => db.collection(KV).upsert({ _id: key, value }))} />
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {entries === undefined ? (
        <p className="empty">Loading…</p>
      ) : entries.length === 0 ? (
        <p className="empty" data-testid="kv-empty">
          No entries yet. Add one above, or run <code>npm run demo</code>.
        </p>
      ) : (
        <table className="table kv">
          <thead>
            <tr>
              <th>Key</th>
              <th>Value</th>
              <th>Type</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <Entry
                key={e._id}
                id={e._id}
                value={e.value}
                conflict={conflicts?.get(e._id)}
                onSave={(value) => attempt(() => db.collection(KV).upsert({ _id: e._id, value }))}
                onRemove={() => attempt(() => db.collection(KV).remove(e._id))}
              />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function AddEntry({ onAdd }: { onAdd: (key: string, value: unknown) => Promise<boolean> }) {
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    if (key.trim() === '') return;
    if (await onAdd(key.trim(), parseValue(value))) {
      setKey('');
      setValue('');
    }
  };
  return (
    <form className="add" onSubmit={submit} aria-label="Add an entry">
      <input
        aria-label="Key"
        placeholder="key"
        value={key}
        onChange={(e) => setKey(e.target.value)}
        data-testid="new-key"
      />
      <input
        aria-label="Value"
        placeholder='value — text, or JSON: 42, true, {"a": 1}'
        value={value}
        onChange={(e) => setValue(e.target.value)}
        data-testid="new-value"
      />
      <button type="submit" className="primary" disabled={key.trim() === ''} data-testid="add">
        Add
      </button>
    </form>
  );
}

function Entry(props: {
  id: string;
  value: unknown;
  conflict: Conflict | undefined;
  onSave: (value: unknown) => Promise<boolean>;
  onRemove: () => Promise<boolean>;
}) {
  const { id, value, conflict } = props;
  const [draft, setDraft] = useState<string | undefined>();
  const save = async () => {
    if (draft !== undefined && (await props.onSave(parseValue(draft)))) setDraft(undefined);
  };
  const losers = conflict?.losers.map((l) => formatValue(l.value)) ?? [];
  const tip = `Concurrent ${losers.length === 1 ? 'value' : 'values'} that lost: ${losers.join(', ')}`;
  return (
    <tr data-testid="kv-row" data-key={id}>
      <td className="key" data-label="Key">
        {id}
      </td>
      <td className="value" data-label="Value">
        {draft === undefined ? (
          <span className="value-text">
            <code data-testid="kv-value">{formatValue(value)}</code>
            {losers.length > 0 && (
              <button
                type="button"
                className="conflict"
                data-tip={tip}
                aria-label={tip}
                data-testid="kv-conflict"
                data-losers={JSON.stringify(losers)}
              >
                {losers.length} concurrent
              </button>
            )}
          </span>
        ) : (
          <input
            aria-label={`New value of ${id}`}
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') void save();
              if (e.key === 'Escape') setDraft(undefined);
            }}
            data-testid="kv-edit-input"
            // biome-ignore lint/a11y/noAutofocus: the field the user just asked to edit
            autoFocus
          />
        )}
      </td>
      <td data-label="Type">
        <span className={`badge type-${typeOf(value)}`}>{typeOf(value)}</span>
      </td>
      <td className="actions">
        {draft === undefined ? (
          <>
            <button type="button" onClick={() => setDraft(formatValue(value))} data-testid="kv-edit">
              Edit
            </button>
            <button
              type="button"
              className="danger"
              onClick={() => void props.onRemove()}
              data-testid="kv-remove"
            >
              Remove
            </button>
          </>
        ) : (
          <>
            <button type="button" className="primary" onClick={() => void save()} data-testid="kv-save">
              Save
            </button>
            <button type="button" onClick={() => setDraft(undefined)}>
              Cancel
            </button>
          </>
        )}
      </td>
    </tr>
  );
}
