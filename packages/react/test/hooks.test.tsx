// @vitest-environment happy-dom
import { counter, Database, MemoryTransport, type SyncClient } from '@concord/db';
import { ConcordProvider, useDocument, useQuery, useSyncStatus } from '@concord/react';
import { SyncServer } from '@concord/server';
import { act, cleanup, render, screen, waitFor } from '@testing-library/react';
import type { ReactNode } from 'react';
import { afterEach, describe, expect, it } from 'vitest';

/** The hooks over a real database and, for the sync status, a real server in memory. */
afterEach(cleanup);

function Products(props: { maxPrice: number }) {
  const docs = useQuery<{ name: string; price: number }>('products', {
    where: { price: { $lte: props.maxPrice } },
    sort: { price: 'asc' },
  });
  if (!docs) return <p>loading</p>;
  return (
    <ul>
      {docs.map((d) => (
        <li key={d._id}>
          {d.name} {d.price}
        </li>
      ))}
    </ul>
  );
}

function Stock(props: { id: string }) {
  const doc = useDocument<{ stock: number }>('products', props.id);
  return <p>stock: {doc ? doc.stock : 'none'}</p>;
}

function Status() {
  const { status, pending } = useSyncStatus();
  return (
    <p>
      {status} / {pending} pending
    </p>
  );
}

const withDb = (db: Database, sync?: SyncClient) => (props: { children: ReactNode }) => (
  <ConcordProvider db={db} sync={sync}>
    {props.children}
  </ConcordProvider>
);

describe('@concord/react', () => {
  it('useQuery follows writes and its own query; useDocument follows one document', async () => {
    const db = await Database.open();
    const products = db.collection('products');
    await products.upsertMany([
      { _id: 'a', name: 'Milk', price: 2, stock: counter(5) },
      { _id: 'b', name: 'Wine', price: 9, stock: counter(1) },
    ]);
    const view = render(<Products maxPrice={5} />, { wrapper: withDb(db) });
    expect(await screen.findByText('Milk 2')).toBeTruthy();
    expect(screen.queryByText('Wine 9')).toBeNull();
    await act(() => products.upsert({ _id: 'c', name: 'Bread', price: 1 }));
    expect(screen.getAllByRole('listitem').map((li) => li.textContent)).toEqual(['Bread 1', 'Milk 2']);
    view.rerender(<Products maxPrice={10} />);
    await waitFor(() => expect(screen.getAllByRole('listitem')).toHaveLength(3));

    render(<Stock id="a" />, { wrapper: withDb(db) });
    expect(await screen.findByText('stock: 5')).toBeTruthy();
    await act(() =>
      products.update('a', (d) => {
        d.stock = (d.stock as number) - 2;
      }),
    );
    expect(await screen.findByText('stock: 3')).toBeTruthy();
    await act(async () => {
      await products.remove('a');
    });
    expect(await screen.findByText('stock: none')).toBeTruthy();
    await db.close();
  });

  it('useSyncStatus shows the link and the changes the server has not acknowledged', async () => {
    const server = new SyncServer({ db: await Database.open() });
    const db = await Database.open();
    const sync = db.sync(
      async () => {
        const [client, end] = MemoryTransport.pair();
        server.accept(end);
        return client;
      },
      { subscriptions: [{ collection: 'products' }] },
    );
    render(<Status />, { wrapper: withDb(db, sync) });
    expect(await screen.findByText('live / 0 pending')).toBeTruthy();
    await act(async () => {
      await sync.close();
    });
    expect(await screen.findByText('closed / 0 pending')).toBeTruthy();
    await act(() => db.collection('products').upsert({ _id: 'x', price: 1 }));
    expect(await screen.findByText('closed / 1 pending')).toBeTruthy();
    await server.close();
    await db.close();
  });

  it('outside a provider, a hook says what is missing', () => {
    expect(() => render(<Status />)).toThrow(/ConcordProvider/);
  });
});
