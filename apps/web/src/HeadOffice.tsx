import type { Database, Doc } from '@concord/db';
import { PRINTED } from '@concord/labels';
import { useQuery } from '@concord/react';
import { useEffect, useMemo, useState } from 'react';
import type { Connection } from './Connection.js';
import { useProductIndex, useSearch } from './hooks.js';
import { MoreResults } from './MoreResults.js';
import { Price } from './Price.js';
import { PRODUCTS, type ProductIndex, STORES } from './ProductIndex.js';
import { PublishFeed } from './PublishFeed.js';
import { SearchBox } from './SearchBox.js';

/** Today as a label's "valid from" date (UTC, as the labels print it). */
const today = () => new Date().toISOString().slice(0, 10);

/**
 * The head office: the whole catalogue (searched as you type), prices changed and sales started
 * here — each a Concord write that reaches the stores carrying the product — and every store's
 * label compliance, read from what the stores record printing: which have printed the labels
 * of the latest prices, and how many each still has to print.
 */
export function HeadOffice({ db, connection }: { db: Database; connection: Connection }) {
  useEffect(() => void connection.follow(PRODUCTS, PRINTED, STORES), [connection]);
  const [index, state] = useProductIndex(db, connection);
  const [query, setQuery] = useState('');
  const found = useSearch(index, query, state.version);
  return (
    <>
      <Compliance index={index} version={state.version} />
      <PublishFeed />
      <section className="panel" aria-labelledby="catalogue-title">
        <header className="panel-header">
          <h2 id="catalogue-title">Catalogue</h2>
          <p className="hint" data-testid="catalogue-summary">
            {found.total.toLocaleString()} of {state.products.toLocaleString()} products. A new price is valid
            from today; stores carrying the product see it in their print queue.
          </p>
        </header>
        <SearchBox query={query} onChange={setQuery} label="Search the catalogue" testid="hq-search" />
        {state.products === 0 && state.ready ? (
          <p className="empty">
            No products yet: run <code>npm run demo</code> with the server running, or publish a feed.
          </p>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>SKU</th>
                <th>Name</th>
                <th>Brand</th>
                <th className="num">Price</th>
                <th>Valid from</th>
                <th>Stores</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {found.products.map((p) => (
                <CatalogueRow key={p._id} db={db} product={p} />
              ))}
            </tbody>
          </table>
        )}
        <MoreResults found={found} testid="hq-more-results" />
      </section>
    </>
  );
}

function Compliance({ index, version }: { index: ProductIndex; version: number }) {
  const names = useQuery<{ name?: string }>(STORES);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `version` says when the index changed
  const rows = useMemo(() => index.compliance(), [index, version]);
  const named = new Map((names ?? []).map((s) => [s._id, s.name]));
  return (
    <section className="panel" aria-labelledby="compliance-title">
      <header className="panel-header">
        <h2 id="compliance-title">Label compliance</h2>
        <p className="hint">What each store printed, from the records its devices sync back.</p>
      </header>
      {rows.length === 0 ? (
        <p className="empty">No store carries a product yet.</p>
      ) : (
        <table className="table compliance">
          <thead>
            <tr>
              <th>Store</th>
              <th className="num">Products</th>
              <th className="num">Labels to print</th>
              <th>Last printed</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.store} data-testid="compliance" data-store={r.store} data-queued={r.queued}>
                <td>
                  <a href={`?store=${encodeURIComponent(r.store)}`} target="_blank" rel="noreferrer">
                    {r.store}
                    {named.get(r.store) ? ` — ${named.get(r.store)}` : ''}
                  </a>
                </td>
                <td className="num">{r.carried.toLocaleString()}</td>
                <td className="num">{r.queued.toLocaleString()}</td>
                <td>{r.lastPrinted ? new Date(r.lastPrinted).toLocaleString() : 'never'}</td>
                <td>
                  {r.queued === 0 ? (
                    <span className="badge ok" data-testid="up-to-date">
                      Up to date
                    </span>
                  ) : (
                    <span className="badge stale">{r.queued.toLocaleString()} to print</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** One product, with its price and sale editable in place. */
function CatalogueRow({ db, product: p }: { db: Database; product: Doc }) {
  const [editing, setEditing] = useState<'price' | 'sale' | undefined>();
  const [input, setInput] = useState('');
  const products = db.collection(PRODUCTS);
  const open = (what: 'price' | 'sale') => {
    const price = typeof p.price === 'number' ? p.price : 0;
    setInput((what === 'price' ? price : Math.round(price * 80) / 100).toFixed(2));
    setEditing(what);
  };
  const value = Number(input.replace(',', '.'));
  const valid = Number.isFinite(value) && value > 0 && (editing !== 'sale' || value < Number(p.price));
  const save = async () => {
    if (!valid) return;
    await products.update(p._id, (d) => {
      if (editing === 'price') d.price = value;
      else {
        d.onSale = true;
        d.salePrice = value;
      }
      d.validFrom = today();
    });
    setEditing(undefined);
  };
  const endSale = () =>
    products.update(p._id, (d) => {
      d.onSale = false;
      d.salePrice = null;
      d.validFrom = today();
    });
  return (
    <tr data-testid="catalogue-item" data-id={p._id}>
      <td>
        <code>{String(p.sku ?? p._id)}</code>
      </td>
      <td>{String(p.name ?? '')}</td>
      <td>{String(p.brand ?? '')}</td>
      <td className="num" data-testid="price">
        {editing ? (
          <form
            className="inline-edit"
            onSubmit={(e) => {
              e.preventDefault();
              void save();
            }}
          >
            <label className="sr-only" htmlFor={`edit-${p._id}`}>
              {editing === 'price' ? 'New price' : 'Sale price'}
            </label>
            <input
              id={`edit-${p._id}`}
              value={input}
              onChange={(e) => setInput(e.target.value)}
              inputMode="decimal"
              aria-invalid={!valid}
              data-testid="price-input"
              // biome-ignore lint/a11y/noAutofocus: the field the user just asked to edit
              autoFocus
            />
            <button type="submit" className="primary" disabled={!valid} data-testid="price-save">
              {editing === 'price' ? 'Save' : 'Start sale'}
            </button>
            <button type="button" onClick={() => setEditing(undefined)}>
              Cancel
            </button>
          </form>
        ) : (
          <Price product={p} />
        )}
      </td>
      <td>{String(p.validFrom ?? '')}</td>
      <td>{Array.isArray(p.stores) ? p.stores.join(', ') : ''}</td>
      <td className="actions">
        {!editing && (
          <>
            <button type="button" onClick={() => open('price')} data-testid="edit-price">
              Change price
            </button>
            {p.onSale === true ? (
              <button type="button" onClick={() => void endSale()} data-testid="end-sale">
                End sale
              </button>
            ) : (
              <button type="button" onClick={() => open('sale')} data-testid="start-sale">
                Put on sale
              </button>
            )}
          </>
        )}
      </td>
    </tr>
  );
}
