import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  checkQuery,
  DbError,
  type Doc,
  matches,
  type Query,
  SyncError,
  type WebSocketLike,
  WebSocketTransport,
} from '@concord/db';
import sirv from 'sirv';
import { WebSocketServer } from 'ws';
import { both, mayWrite, type Principal, scope } from './Auth.js';
import type { SyncServer } from './SyncServer.js';

export interface HttpServerOptions {
  readonly sync: SyncServer;
  readonly port?: number;
  readonly host?: string;
  /** A built web page (apps/web's `dist`) to serve at `/`. */
  readonly web?: string;
}

/** A failed HTTP request: status and a stable code, sent as `{ error: { code, message } }`. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const STATUS: Readonly<Record<string, number>> = {
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  REJECTED: 422,
  TOO_LARGE: 413,
  NOT_FOUND: 404,
  CLOSED: 503,
};

/**
 * HTTP and WebSocket on one port (`concord serve`): `/sync` upgrades to a sync session;
 * `/api/collections/:name[/:id]` reads the server's materialised documents (GET, with `where`,
 * `sort`, `limit`, `skip` as query parameters) and writes them (PUT replaces, PATCH merges,
 * DELETE removes) as changes like any client's, under the same auth and validation hooks;
 * `/api/collections` lists the collections the caller may read, `/api/peers` the clients
 * connected now; `/healthz`; `/metrics` in Prometheus text format; and the web page, if given.
 */
export class HttpServer {
  private constructor(
    readonly sync: SyncServer,
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    private readonly assets:
      | ((req: IncomingMessage, res: ServerResponse, next: () => void) => void)
      | undefined,
  ) {}

  static async listen(options: HttpServerOptions): Promise<HttpServer> {
    const { sync } = options;
    const wss = new WebSocketServer({ noServer: true, maxPayload: sync.limits.maxMessageBytes });
    const http = createServer();
    const server = new HttpServer(
      sync,
      http,
      wss,
      options.web ? sirv(options.web, { etag: true }) : undefined,
    );
    http.on('request', (req, res) => {
      server.route(req, res).catch((e) => server.fail(res, e));
    });
    http.on('upgrade', (req, socket, head) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== '/sync') {
        socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        sync.accept(new WebSocketTransport(ws as unknown as WebSocketLike));
      });
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 8787, options.host ?? '127.0.0.1', () => resolve());
    });
    return server;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Stops taking connections, ends every session gracefully, closes the sockets. The database stays open. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    await this.sync.close();
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
    this.http.closeAllConnections();
    await closed;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/healthz' && req.method === 'GET')
      return json(res, 200, { status: 'ok', connections: this.sync.connections });
    if (url.pathname === '/metrics' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': this.sync.metrics.registry.contentType });
      res.end(await this.sync.metrics.text());
      return;
    }
    if (url.pathname === '/api/peers' && req.method === 'GET') {
      await this.sync.authenticate(bearer(req));
      return json(res, 200, this.sync.peers());
    }
    if (url.pathname === '/api/collections' && req.method === 'GET')
      return json(res, 200, this.collections(await this.sync.authenticate(bearer(req))));
    const m = /^\/api\/collections\/([^/]+)(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) {
      const page =
        this.assets && !url.pathname.startsWith('/api/') && ['GET', 'HEAD'].includes(req.method ?? '');
      if (!page) throw new HttpError(404, 'NOT_FOUND', `no route ${req.method} ${url.pathname}`);
      return this.assets!(req, res, () =>
        this.fail(res, new HttpError(404, 'NOT_FOUND', `no file ${url.pathname}`)),
      );
    }
    const collection = decodeURIComponent(m[1]!);
    const id = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    const principal = await this.sync.authenticate(bearer(req));
    if (id === undefined) {
      if (req.method !== 'GET')
        throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} on a collection`);
      return json(res, 200, await this.list(principal, collection, url.searchParams));
    }
    switch (req.method) {
      case 'GET': {
        const doc = this.readable(principal, collection, id);
        if (!doc) throw new HttpError(404, 'NOT_FOUND', `no document ${collection}/${id}`);
        return json(res, 200, doc);
      }
      case 'PUT':
      case 'PATCH': {
        const body = await readJson(req, this.sync.limits.maxMessageBytes);
        if (typeof body !== 'object' || body === null || Array.isArray(body))
          throw new HttpError(400, 'NOT_JSON', 'the body must be a JSON object');
        if ('_id' in body && body._id !== id)
          throw new HttpError(400, 'BAD_ID', 'the body’s _id differs from the URL’s');
        const input = { ...(body as Record<string, unknown>), _id: id };
        const before = this.sync.db.documentValue(collection, id);
        const after = (req.method === 'PUT' ? input : { ...before, ...input }) as Doc;
        await this.authorise(principal, collection, id, before, after);
        await this.sync.db
          .collection(collection)
          .upsert(input, { mode: req.method === 'PUT' ? 'replace' : 'merge' });
        return json(res, 200, this.sync.db.documentValue(collection, id));
      }
      case 'DELETE': {
        const before = this.sync.db.documentValue(collection, id);
        if (!before) throw new HttpError(404, 'NOT_FOUND', `no document ${collection}/${id}`);
        await this.authorise(principal, collection, id, before, undefined);
        await this.sync.db.collection(collection).remove(id);
        res.writeHead(204).end();
        return;
      }
      default:
        throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} on a document`);
    }
  }

  /** The collections holding documents the principal may read, with how many it may read. */
  private collections(principal: Principal): Array<{ name: string; documents: number }> {
    const out: Array<{ name: string; documents: number }> = [];
    for (const name of this.sync.db.collectionNames()) {
      const allowed = scope(principal, name, 'read');
      if (allowed !== null) out.push({ name, documents: this.sync.db.documentIds(name, allowed).length });
    }
    return out;
  }

  private async list(principal: Principal, collection: string, params: URLSearchParams): Promise<Doc[]> {
    const allowed = scope(principal, collection, 'read');
    if (allowed === null) throw new SyncError('FORBIDDEN', `no read access to ${collection}`);
    const where = both(param(params, 'where'), allowed);
    const query: Query = {
      ...(where ? { where } : {}),
      ...(params.has('sort') ? { sort: sortParam(params.get('sort')!) } : {}),
      ...(params.has('limit') ? { limit: Number(params.get('limit')) } : {}),
      ...(params.has('skip') ? { skip: Number(params.get('skip')) } : {}),
    };
    checkQuery(query);
    return this.sync.db.collection(collection).find(query);
  }

  /** The document if it exists and the principal may read it (a document outside the scope is as good as absent). */
  private readable(principal: Principal, collection: string, id: string): Doc | undefined {
    const allowed = scope(principal, collection, 'read');
    if (allowed === null) throw new SyncError('FORBIDDEN', `no read access to ${collection}`);
    const doc = this.sync.db.documentValue(collection, id);
    return doc && (allowed === undefined || matches(doc, allowed)) ? doc : undefined;
  }

  private async authorise(
    principal: Principal,
    collection: string,
    id: string,
    before: Doc | undefined,
    after: Doc | undefined,
  ): Promise<void> {
    if (!mayWrite(principal, collection, before, after))
      throw new SyncError('FORBIDDEN', `no write access to ${collection}/${id}`);
    const verdict = await this.sync.check({ collection, id, before, after, principal });
    if (!verdict.ok) throw new SyncError('REJECTED', verdict.reason);
  }

  private fail(res: ServerResponse, e: unknown): void {
    let err: HttpError;
    if (e instanceof HttpError) err = e;
    else if (e instanceof SyncError || e instanceof DbError)
      err = new HttpError(STATUS[e.code] ?? 400, e.code, e.message);
    else {
      this.sync.log.error({ err: e }, 'HTTP request failed');
      err = new HttpError(500, 'SERVER_ERROR', 'the server failed to handle the request');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    json(res, err.status, { error: { code: err.code, message: err.message } });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body ?? null);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function bearer(req: IncomingMessage): string {
  const h = req.headers.authorization ?? '';
  return h.startsWith('Bearer ') ? h.slice(7) : '';
}

function param(params: URLSearchParams, name: string): never | undefined {
  const raw = params.get(name);
  if (raw === null) return undefined;
  try {
    return JSON.parse(raw) as never;
  } catch {
    throw new HttpError(400, 'BAD_QUERY', `${name} is not JSON`);
  }
}

/** `sort` as JSON (`{"price":"desc"}`) or a field name, `-` first for descending. */
function sortParam(raw: string): NonNullable<Query['sort']> {
  if (raw.startsWith('{')) {
    try {
      return JSON.parse(raw) as NonNullable<Query['sort']>;
    } catch {
      throw new HttpError(400, 'BAD_QUERY', 'sort is not JSON');
    }
  }
  return raw.startsWith('-') ? { [raw.slice(1)]: 'desc' } : { [raw]: 'asc' };
}

async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw new HttpError(413, 'TOO_LARGE', `a body over ${max} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'NOT_JSON', 'the body is not JSON');
  }
}
