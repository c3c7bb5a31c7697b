import type { Database, Doc } from '@concord/db';
import { type LabelWarning, PRINTED, printedLabels, TEMPLATES } from '@concord/labels';
import { ConcordProvider, useDocument } from '@concord/react';
import { memo, useCallback, useEffect, useMemo, useState } from 'react';
import type { Connection } from './Connection.js';
import { ConnectionBar } from './ConnectionBar.js';
import { useProductIndex, useSearch, useSyncClient } from './hooks.js';
import { MoreResults } from './MoreResults.js';
import { Price } from './Price.js';
import { type ProductIndex, type ProductIndexState, STORES } from './ProductIndex.js';
import { SearchBox } from './SearchBox.js';

/** Queued products shown at once; the count says how many there are. */
const SHOWN = 50;
/**
 * Labels printed at once: a store's first print of a whole catalogue goes in sheets a printer
 * (and a browser, at about a label a millisecond) gets through in a minute or so.
 */
const BATCH = 1000;

/** A PDF rendered here, shown beside the queue. */
interface Printout {
  readonly url: string;
  readonly labels: number;
  readonly warnings: readonly LabelWarning[];
  readonly at: string;
  readonly what: string;
}

/**
 * A store's device (`?store=s1`): the store's products, replicated to this tab alone (partial
 * replication: the products whose `stores` holds this store), searched as you type; its print
 * queue — the products whose label changed since the store last printed them — and printing,
 * rendered to a PDF in this browser from local data, so it works with the server away. What is
 * printed is recorded in `printed`, which syncs back: the head office sees the store's labels.
 */
export function StoreApp({ db, connection, store }: { db: Database; connection: Connection; store: string }) {
  const sync = useSyncClient(connection);
  const [index, state] = useProductIndex(db, connection, store);
  return (
    <ConcordProvider db={db} sync={sync}>
      <div className="app store-app">
        <header className="top">
          <div className="brand">
            <span className="logo" aria-hidden="true" />
            <h1>
              Concord <StoreName store={store} />
            </h1>
          </div>
          <ConnectionBar connection={connection} />
        </header>
        <main className="store-main">
          <Shelf db={db} index={index} state={state} store={store} />
        </main>
      </div>
    </ConcordProvider>
  );
}

function StoreName({ store }: { store: string }) {
  const doc = useDocument<{ name?: string }>(STORES, store);
  return (
    <span className="store-name" data-testid="store-name">
      · store {store}
      {doc?.name ? ` — ${doc.name}` : ''}
    </span>
  );
}

function Shelf(props: { db: Database; index: ProductIndex; state: ProductIndexState; store: string }) {
  const { db, index, state, store } = props;
  const [query, setQuery] = useState('');
  const [template, setTemplate] = useState<string>('shelf-strip');
  const [printout, setPrintout] = useState<Printout | undefined>();
  const [printing, setPrinting] = useState(false);
  const [failure, setFailure] = useState<string | undefined>();
  const found = useSearch(index, query, state.version);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `state.version` says when the index changed
  const queue = useMemo(() => index.queued(store, SHOWN), [index, store, state.version]);
  useEffect(() => () => (printout ? URL.revokeObjectURL(printout.url) : undefined), [printout]);

  // The same functions from render to render while the template is (rows are drawn again only when they change).
  const print = useCallback(
    async (products: readonly Doc[], what: string) => {
      setPrinting(true);
      setFailure(undefined);
      try {
        const { labelsPdf } = await import('./labelsPdf.js');
        const out = await labelsPdf(db, products, template);
        const at = new Date().toISOString();
        setPrintout({
          url: URL.createObjectURL(new Blob([out.pdf as BlobPart], { type: 'application/pdf' })),
          labels: out.labels,
          warnings: out.warnings,
          at,
          what,
        });
        await db.collection(PRINTED).upsertMany(printedLabels(store, products, at));
      } catch (e) {
        setFailure((e as Error).message);
      } finally {
        setPrinting(false);
      }
    },
    [db, store, template],
  );
  const printOne = useCallback((p: Doc) => void print([p], String(p.name ?? p._id)), [print]);

  if (!state.ready) return <p className="empty">Opening this store’s products…</p>;
  return (
    <>
      <section className="panel queue" aria-labelledby="queue-title">
        <header className="panel-header">
          <h2 id="queue-title">
            Print queue{' '}
            <span className="count" data-testid="queue-count">
              {queue.total.toLocaleString()}
            </span>
          </h2>
          <p className="hint">
            Labels whose price, sale, name or barcode changed since this store printed them.
          </p>
        </header>
        <div className="print-bar">
          <label>
            Template{' '}
            <select value={template} onChange={(e) => setTemplate(e.target.value)} data-testid="template">
              {Object.entries(TEMPLATES).map(([name, t]) => (
                <option key={name} value={name}>
                  {t.name}
                </option>
              ))}
            </select>
          </label>
          <button
            type="button"
            className="primary"
            disabled={queue.total === 0 || printing}
            onClick={() => {
              const next = index.queued(store, BATCH).products;
              void print(next, `the print queue (${next.length} of ${queue.total.toLocaleString()})`);
            }}
            data-testid="print-queue"
          >
            {printing
              ? 'Printing…'
              : queue.total > BATCH
                ? `Print the first ${BATCH.toLocaleString()} of ${queue.total.toLocaleString()} labels`
                : `Print ${queue.total} label${queue.total === 1 ? '' : 's'}`}
          </button>
        </div>
        {queue.total === 0 ? (
          <p className="empty" data-testid="queue-empty">
            Every label on the shelves is up to date.
          </p>
        ) : (
          <>
            <ProductTable products={queue.products} testid="queue-item" />
            {queue.total > queue.products.length && (
              <p className="hint">and {(queue.total - queue.products.length).toLocaleString()} more</p>
            )}
          </>
        )}
      </section>

      {(printout || failure) && (
        <section className="panel printout" aria-labelledby="printout-title">
          <header className="panel-header">
            <h2 id="printout-title">Printed</h2>
            {printout && (
              <p className="hint" data-testid="printout-summary">
                {printout.labels} label{printout.labels === 1 ? '' : 's'} of {printout.what} at{' '}
                {new Date(printout.at).toLocaleTimeString()} ·{' '}
                <a href={printout.url} download={`labels-${store}.pdf`} data-testid="pdf-link">
                  Download the PDF
                </a>
              </p>
            )}
          </header>
          {failure && (
            <p className="conn-error" role="alert">
              {failure}
            </p>
          )}
          {printout && printout.warnings.length > 0 && (
            <ul className="warnings" data-testid="warnings">
              {printout.warnings.map((w) => (
                <li key={`${w.product}:${w.code}`}>
                  <code>{w.product}</code> {w.message}
                </li>
              ))}
            </ul>
          )}
          {printout && <iframe className="pdf" src={printout.url} title="The labels printed" />}
        </section>
      )}

      <section className="panel" aria-labelledby="search-title">
        <header className="panel-header">
          <h2 id="search-title">Products</h2>
          <p className="hint" data-testid="search-summary">
            {found.total.toLocaleString()} of {state.products.toLocaleString()} products ·{' '}
            <span data-testid="search-ms">{found.ms.toFixed(1)}</span> ms
          </p>
        </header>
        <SearchBox query={query} onChange={setQuery} label="Search products" testid="search" />
        <ProductTable products={found.products} testid="result" onPrint={printOne} printing={printing} />
        <MoreResults found={found} testid="more-results" />
      </section>
    </>
  );
}

function ProductTable(props: {
  products: readonly Doc[];
  testid: string;
  /** Given, each row has a Print button; disabled while `printing`. */
  onPrint?: (p: Doc) => void;
  printing?: boolean;
}) {
  return (
    <table className="table">
      <thead>
        <tr>
          <th>SKU</th>
          <th>Name</th>
          <th className="wide">Brand</th>
          <th className="num">Price</th>
          <th className="num wide">Aisle</th>
          <th className="wide">Barcode</th>
          {props.onPrint && <th />}
        </tr>
      </thead>
      <tbody>
        {props.products.map((p) => (
          <ProductRow
            key={p._id}
            product={p}
            testid={props.testid}
            onPrint={props.onPrint}
            printing={props.printing ?? false}
          />
        ))}
      </tbody>
    </table>
  );
}

/**
 * One product's row, drawn again only when the product (a frozen document: a change is a new
 * object) or the printing state is: while a first sync streams in, the views are told of it
 * twenty times a second and the rows shown stay the same.
 */
const ProductRow = memo(function ProductRow(props: {
  product: Doc;
  testid: string;
  onPrint: ((p: Doc) => void) | undefined;
  printing: boolean;
}) {
  const { product: p, onPrint } = props;
  return (
    <tr data-testid={props.testid} data-id={p._id}>
      <td>
        <code>{String(p.sku ?? p._id)}</code>
      </td>
      <td>{String(p.name ?? '')}</td>
      <td className="wide">{String(p.brand ?? '')}</td>
      <td className="num" data-testid="price">
        <Price product={p} />
      </td>
      <td className="num wide">{String(p.aisle ?? '')}</td>
      <td className="wide">
        <code>{String(p.barcode ?? '')}</code>
      </td>
      {onPrint && (
        <td className="actions">
          <button type="button" disabled={props.printing} onClick={() => onPrint(p)} data-testid="print-one">
            Print
          </button>
        </td>
      )}
    </tr>
  );
});
