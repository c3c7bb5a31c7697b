import { Database, SyncError } from '@concord/db';
import { gtinCheckDigit } from '@concord/labels';
import { HttpServer, type Principal, SyncServer } from '@concord/server';
import { pdfText } from '@concord/testkit';
import { afterEach, describe, expect, it } from 'vitest';

let http: HttpServer | undefined;
afterEach(async () => {
  await http?.close();
  await http?.sync.db.close();
  http = undefined;
});

/** Tokens: `hq` reads everything; `store-s1` reads the products store s1 carries. */
const PRINCIPALS: Record<string, Principal> = {
  hq: { subject: 'hq', grants: [{ collection: '*', read: true, write: true }] },
  'store-s1': {
    subject: 's1',
    grants: [{ collection: 'products', read: true, where: { stores: { $contains: 's1' } } }],
  },
};

async function start(maxLabels?: number): Promise<HttpServer> {
  const db = await Database.open();
  const sync = new SyncServer({
    db,
    authenticate: async (token) => {
      const p = PRINCIPALS[token];
      if (!p) throw new SyncError('UNAUTHORIZED', 'unknown token');
      return p;
    },
    ...(maxLabels ? { limits: { maxLabels } } : {}),
  });
  http = await HttpServer.listen({ sync, port: 0 });
  const products = Array.from({ length: 6 }, (_, i) => {
    const prefix = String(400638133390 + i);
    return {
      _id: `p${i}`,
      name: `Produit ${i} crème 250g`,
      price: 2 + i,
      barcode: prefix + gtinCheckDigit(prefix),
      stores: i % 2 === 0 ? ['s1', 's2'] : ['s2'],
    };
  });
  await db.collection('products').upsertMany(products);
  return http;
}

const get = (server: HttpServer, query: string, token = 'hq') =>
  fetch(`${server.url}/api/labels.pdf?${query}`, { headers: { authorization: `Bearer ${token}` } });

describe('/api/labels.pdf', () => {
  it('renders the documents asked for, within the caller’s read scope', async () => {
    const server = await start();
    const res = await get(server, 'ids=p0,p1,p2,nope&template=shelf-strip', 'store-s1');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(res.headers.get('x-concord-labels')).toBe('2');
    // p1 is not carried by s1: to its token, as absent as a product that does not exist.
    expect(JSON.parse(res.headers.get('x-concord-missing')!)).toEqual(['p1', 'nope']);
    const [text] = await pdfText(new Uint8Array(await res.arrayBuffer()));
    expect(text).toContain('Produit 0 crème 250g');
    expect(text).toContain('€4.00');
    expect(text).toContain('€8.00/kg');
    expect(text).not.toContain('Produit 1');
  });

  it('renders what a filter selects, narrowed to the scope, with another template and locale', async () => {
    const server = await start();
    const where = encodeURIComponent(JSON.stringify({ price: { $gte: 3 } }));
    const res = await get(server, `where=${where}&template=promo-sign&locale=de-DE`, 'store-s1');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-concord-labels')).toBe('2');
    const pages = await pdfText(new Uint8Array(await res.arrayBuffer()));
    expect(pages.join(' ')).toContain('Produit 2');
    expect(pages.join(' ')).toContain('Produit 4');
    expect(pages.join(' ')).toMatch(/4,00\s€/);
  });

  it('takes a template as data in a POST, and lists bad products in a header', async () => {
    const server = await start();
    await server.sync.db.collection('products').upsert({ _id: 'bad', name: 'Sans prix', barcode: '123' });
    const res = await fetch(`${server.url}/api/labels.pdf`, {
      method: 'POST',
      headers: { authorization: 'Bearer hq' },
      body: JSON.stringify({
        ids: ['bad', 'p3'],
        template: {
          name: 'mini',
          sheet: { width: 100, height: 100, marginTop: 0, marginLeft: 0 },
          label: { width: 50, height: 20 },
          elements: [{ type: 'text', text: '{name} {price}', x: 1, y: 1, width: 48, height: 10, size: 8 }],
        },
      }),
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.headers.get('x-concord-warnings')!).map((w: { code: string }) => w.code)).toEqual([
      'NO_PRICE',
      'BAD_BARCODE',
    ]);
    expect((await pdfText(new Uint8Array(await res.arrayBuffer())))[0]).toContain(
      'Produit 3 crème 250g €5.00',
    );
  });

  it('refuses with a code: no token, no read right, a bad template, too many labels', async () => {
    const server = await start(3);
    const code = async (res: Response) => [
      res.status,
      ((await res.json()) as { error: { code: string } }).error.code,
    ];
    expect(await code(await get(server, 'ids=p0', 'nobody'))).toEqual([401, 'UNAUTHORIZED']);
    expect(await code(await get(server, 'collection=orders&ids=p0', 'store-s1'))).toEqual([403, 'FORBIDDEN']);
    expect(await code(await get(server, 'ids=p0&template=poster'))).toEqual([400, 'BAD_QUERY']);
    expect(await code(await get(server, 'where=nope'))).toEqual([400, 'BAD_QUERY']);
    expect(await code(await get(server, 'ids=p0,p1,p2,p3'))).toEqual([413, 'TOO_LARGE']);
    expect(await code(await get(server, ''))).toEqual([413, 'TOO_LARGE']);
    const bad = await fetch(`${server.url}/api/labels.pdf`, {
      method: 'POST',
      headers: { authorization: 'Bearer hq' },
      body: JSON.stringify({ template: { name: 'x', sheet: {}, label: {}, elements: [] } }),
    });
    expect(await code(bad)).toEqual([400, 'BAD_QUERY']);
  });
});
