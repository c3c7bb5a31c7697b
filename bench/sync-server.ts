// Child process of the sync suite. `sync-server.ts concord <n>`: a Concord sync server (memory
// storage) holding the n-product retail catalogue, plus a plain HTTP server handing out the same
// catalogue as gzip JSON; on stdin, `change <hour>` re-prices 1% of the products (answering
// `changed`). `sync-server.ts yjs`: a y-websocket server. Prints its ports as one JSON line.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { gzipSync } from 'node:zlib';
import { Database } from '@concord/db';
import { HttpServer, SyncServer } from '@concord/server';
import { setupWSConnection } from '@y/websocket-server/utils';
import { WebSocketServer } from 'ws';
import { catalogue, changedIndexes, priceOf } from './retail.suite.js';

const [mode, n] = process.argv.slice(2);

if (mode === 'yjs') {
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  wss.on('connection', (ws, req) => setupWSConnection(ws, req));
  http.listen(0, '127.0.0.1', () =>
    console.log(JSON.stringify({ sync: (http.address() as AddressInfo).port })),
  );
} else {
  const products = catalogue(Number(n));
  const db = await Database.open();
  for (let i = 0; i < products.length; i += 10_000)
    await db
      .collection('products')
      .upsertMany(products.slice(i, i + 10_000) as unknown as Record<string, unknown>[]);
  const server = await HttpServer.listen({ sync: new SyncServer({ db }), port: 0 });
  // The baseline is a static file: compressed once, as a CDN would serve it.
  const gz = gzipSync(JSON.stringify(products), { level: 6 });
  const http = createServer((_req, res) => {
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      'content-length': gz.length,
    });
    res.end(gz);
  });
  // Longer than any pause of the stores between fetches: Node's 5 s default closed kept-alive
  // sockets as undici reused them on a slow run ("other side closed"), failing the baseline.
  http.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  console.log(JSON.stringify({ sync: server.port, http: (http.address() as AddressInfo).port }));
  for await (const line of createInterface({ input: process.stdin })) {
    const [cmd, hour] = line.split(' ');
    if (cmd !== 'change') continue;
    const changed = changedIndexes(products.length).map((i) => ({
      _id: products[i]!._id,
      price: priceOf(i, Number(hour)),
    }));
    await db.collection('products').upsertMany(changed);
    console.log('changed');
  }
}
