import type { AddressInfo } from 'node:net';
import {
  MemoryTransport,
  TRANSPORT_ACCEPTANCE,
  type TransportFactory,
  WebSocketTransport,
} from '@concord/db';
import { afterAll, describe, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';

function acceptance(name: string, link: TransportFactory): void {
  describe(`transport acceptance: ${name}`, () => {
    for (const c of TRANSPORT_ACCEPTANCE) it(c.name, () => c.run(link));
  });
}

acceptance('memory', async () => MemoryTransport.pair());

/** Real WebSockets on loopback: `ws` on both ends, the server's side wrapped as the client's is. */
const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 << 20 });
const accepted: WebSocketTransport[] = [];
server.on('connection', (socket) => accepted.push(new WebSocketTransport(socket)));
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

acceptance('WebSocket', async () => {
  const { port } = server.address() as AddressInfo;
  const before = accepted.length;
  const client = await WebSocketTransport.connect(`ws://127.0.0.1:${port}`, (url) => new WebSocket(url));
  while (accepted.length === before) await new Promise((r) => setTimeout(r, 1));
  return [client, accepted[before]!];
});
