import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  DbError,
  type Doc,
  type Query,
  SyncError,
  type Transaction,
  type WebSocketLike,
  WebSocketTransport,
} from '@concord/db';
import { checkQuery, core } from '@concord/db/internal';
import sirv from 'sirv';
import { WebSocketServer } from 'ws';
import { AttachmentTransfer } from './AttachmentTransfer.js';
import { both, type Principal, readScope, scope, visibleDocument } from './Auth.js';
import type { FeedIngest } from './FeedIngest.js';
import { FeedUpload } from './FeedUpload.js';
import { HttpError } from './HttpError.js';
import { LabelPrinting, labelQuery, labelRequest } from './LabelPrinting.js';
import type { SyncServer } from './SyncServer.js';

export interface HttpServerOptions {
  readonly sync: SyncServer;
  readonly port?: number;
  readonly host?: string;
  /** A built web page (apps/web's `dist`) to serve at `/`. */
  readonly web?: string;
  /**
   * What else `/healthz` reports (the feed's consumers, say): merged into its answer, which is
   * 503 `degraded` when it says `ok: false`.
   */
  readonly health?: () => Promise<{ readonly ok: boolean } & Record<string, unknown>>;
  /** The feed this server ingests: `POST /api/feed` publishes to it (`FeedUpload`). */
  readonly feed?: Pick<FeedIngest, 'collection' | 'publish'>;
}

const STATUS: Readonly<Record<string, number>> = {
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  REJECTED: 422,
  TOO_LARGE: 413,
  TOO_DEEP: 413,
  NOT_FOUND: 404,
  CLOSED: 503,
};

/**
 * HTTP and WebSocket on one port (`concord serve`): `/sync` upgrades to a sync session;
 * `/api/collections/:name[/:id]` reads the server's materialised documents (GET, with `where`,
 * `sort`, `limit`, `skip` as query parameters) and writes them (PUT replaces, PATCH merges,
 * DELETE removes) as changes like any client's, under the same auth and validation hooks;
 * `/api/attachments/<hash>` transfers attachments (`AttachmentTransfer`); `/api/feed` takes the
 * head office's feed (`FeedUpload`); `/api/labels.pdf` renders shelf labels of documents the caller may read (`LabelPrinting`);
 * `/api/collections` lists the collections the caller may read, `/api/peers` the clients
 * connected now (to operators); `/healthz`; `/metrics` in Prometheus text format; and the web
 * page, if given. Writes go through the same admission as sync pushes (`Admission`). A request
 * whose headers (or whole body) do not arrive within the limits is cut off.
 */
export class HttpServer {
  private constructor(
    readonly sync: SyncServer,
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    private readonly assets:
      | ((req: IncomingMessage, res: ServerResponse, next: () => void) => void)
      | undefined,
    private readonly health: HttpServerOptions['health'],
    feed: HttpServerOptions['feed'],
  ) {
    this.labels = new LabelPrinting(sync);
    this.attachments = new AttachmentTransfer(sync);
    this.feed = new FeedUpload(sync, feed);
  }

  private readonly labels: LabelPrinting;
  private readonly attachments: AttachmentTransfer;
  private readonly feed: FeedUpload;

  static async listen(options: HttpServerOptions): Promise<HttpServer> {
    const { sync } = options;
    const wss = new WebSocketServer({ noServer: true, maxPayload: sync.limits.maxMessageBytes });
    const { headersTimeoutMs, requestTimeoutMs } = sync.limits;
    const http = createServer();
    // Node 20's own headersTimeout lets slow connections be when many arrive at once (20 sockets
    // opened together, each sending half its headers, are never timed out), so each connection
    // has a deadline of its own instead: its headers within headersTimeoutMs of connecting (or of its last
    // response, after keep-alive's idle time), its whole request within requestTimeoutMs.
    const deadlines = new WeakMap<Socket, NodeJS.Timeout>();
    const arm = (socket: Socket, ms: number) => {
      clearTimeout(deadlines.get(socket));
      deadlines.set(socket, setTimeout(() => socket.destroy(), ms).unref());
    };
    http.on('connection', (socket: Socket) => {
      arm(socket, headersTimeoutMs);
      socket.once('close', () => clearTimeout(deadlines.get(socket)));
    });
    const server = new HttpServer(
      sync,
      http,
      wss,
      options.web ? sirv(options.web, { etag: true }) : undefined,
      options.health,
      options.feed,
    );
    http.on('request', (req, res) => {
      if (req.url?.startsWith('/api/attachments/') || req.url?.startsWith('/api/feed')) {
        // A transfer of megabytes may outlast any whole-request deadline on a store's link: it
        // is cut when it stalls (no bytes either way for headersTimeoutMs) instead.
        clearTimeout(deadlines.get(req.socket));
        req.socket.setTimeout(headersTimeoutMs, () => req.socket.destroy());
      } else arm(req.socket, requestTimeoutMs);
      res.once('finish', () => {
        req.socket.setTimeout(0);
        arm(req.socket, headersTimeoutMs + http.keepAliveTimeout);
      });
      server.route(req, res).catch((e) => server.fail(res, e));
    });
    http.on('upgrade', (req, socket, head) => {
      clearTimeout(deadlines.get(socket as Socket));
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
    this.attachments.close();
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
    this.http.closeAllConnections();
    await closed;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/healthz' && req.method === 'GET') {
      const extra = await this.health?.();
      const ok = extra?.ok ?? true;
      return json(res, ok ? 200 : 503, {
        ...extra,
        status: ok ? 'ok' : 'degraded',
        connections: this.sync.connections,
      });
    }
    if (url.pathname === '/metrics' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': this.sync.metrics.registry.contentType });
      res.end(await this.sync.metrics.text());
      return;
    }
    if (url.pathname === '/api/peers' && req.method === 'GET') {
      const principal = await this.sync.authenticate(bearer(req));
      if (!principal.operator) throw new SyncError('FORBIDDEN', 'the connected clients are for operators');
      return json(res, 200, this.sync.peers());
    }
    const chunk = /^\/sync\/chunks\/([0-9a-f]{64})$/.exec(url.pathname);
    if (chunk && req.method === 'OPTIONS') {
      // A page on another origin than the server fetches chunks with its token: allowed.
      res.writeHead(204, { ...CHUNK_CORS, 'access-control-max-age': '86400' }).end();
      return;
    }
    if (chunk && (req.method === 'GET' || req.method === 'HEAD')) return this.chunk(req, res, chunk[1]!);
    const attachment = /^\/api\/attachments\/([^/]+)$/.exec(url.pathname);
    if (attachment) {
      const principal = await this.sync.authenticate(bearer(req));
      return this.attachments.handle(req, res, attachment[1]!, principal);
    }
    if (url.pathname === '/api/feed')
      return this.feed.handle(req, res, await this.sync.authenticate(bearer(req)));
    if (url.pathname === '/api/labels.pdf' && (req.method === 'GET' || req.method === 'POST')) {
      const principal = await this.sync.authenticate(bearer(req));
      const request =
        req.method === 'GET'
          ? labelQuery(url.searchParams)
          : labelRequest(await readJson(req, this.sync.limits.maxMessageBytes));
      const printed = await this.labels.print(principal, request);
      res.writeHead(200, {
        'content-type': 'application/pdf',
        'content-length': printed.pdf.length,
        'content-disposition': 'inline; filename="labels.pdf"',
        'x-concord-labels': String(printed.labels),
        // The first 20 of each: headers are bounded, and the PDF marks every bad label anyway.
        'x-concord-warnings': asciiJson(printed.warnings.slice(0, 20)),
        'x-concord-missing': asciiJson(printed.missing.slice(0, 20)),
      });
      res.end(printed.pdf);
      return;
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
    const collection = pathPart(m[1]!);
    const id = m[2] === undefined ? undefined : pathPart(m[2]);
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
        const mode = req.method === 'PUT' ? 'replace' : 'merge';
        await this.write(principal, (tx) => tx.upsert(collection, input, { mode }));
        // A principal that may write but not read the document learns nothing of it.
        const doc = this.visible(principal, collection, id, 'read');
        if (!doc) {
          res.writeHead(204).end();
          return;
        }
        return json(res, 200, doc);
      }
      case 'DELETE': {
        // A document the principal may neither read nor write is as good as absent: the same 404.
        if (
          !this.visible(principal, collection, id, 'read') &&
          !this.visible(principal, collection, id, 'write')
        )
          throw new HttpError(404, 'NOT_FOUND', `no document ${collection}/${id}`);
        await this.write(principal, (tx) => tx.remove(collection, id));
        res.writeHead(204).end();
        return;
      }
      default:
        throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} on a document`);
    }
  }

  /** The collections holding documents the principal may read, with how many it may read. */
  /**
   * A chunk of an initial snapshot by its SHA-256, as named in a manifest: immutable (its name
   * is its content), so cacheable for a year by a browser, and — when no token is needed to
   * read it — by any CDN between. It is served to a caller with the read scope of a session it
   * was named to (see `SnapshotCache.readers`), 404 to anyone else.
   */
  private async chunk(req: IncomingMessage, res: ServerResponse, hash: string): Promise<void> {
    const principal = await this.sync.authenticate(bearer(req));
    const frame = this.sync.snapshots.chunk(hash, readScope(principal));
    if (!frame)
      throw new HttpError(
        404,
        'NOT_FOUND',
        'no such chunk for this token (or the snapshot is no longer kept)',
      );
    const etag = `"${hash}"`;
    const headers = {
      ...CHUNK_CORS,
      'cache-control': `${req.headers.authorization ? 'private' : 'public'}, max-age=31536000, immutable`,
      etag,
      'content-type': 'application/octet-stream',
    };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers).end();
      return;
    }
    this.sync.metrics.chunksServed.inc();
    res.writeHead(200, { ...headers, 'content-length': frame.length });
    res.end(req.method === 'HEAD' ? undefined : frame);
  }

  private collections(principal: Principal): Array<{ name: string; documents: number }> {
    const out: Array<{ name: string; documents: number }> = [];
    for (const name of core(this.sync.db).collectionNames()) {
      const allowed = scope(principal, name, 'read');
      if (allowed !== null)
        out.push({ name, documents: core(this.sync.db).documentIds(name, allowed).length });
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
    if (scope(principal, collection, 'read') === null)
      throw new SyncError('FORBIDDEN', `no read access to ${collection}`);
    return this.visible(principal, collection, id, 'read');
  }

  private visible(
    principal: Principal,
    collection: string,
    id: string,
    right: 'read' | 'write',
  ): Doc | undefined {
    return visibleDocument(this.sync.db, principal, collection, id, right);
  }

  /**
   * A REST write: the changes it would make are admitted as a sync push's are (on the document
   * before and after them, hooks included), then written, then the hooks' amendments.
   */
  private async write(principal: Principal, write: (tx: Transaction) => unknown): Promise<void> {
    const outcomes = await this.sync.admission.judge(principal, core(this.sync.db).draft(write));
    const refused = outcomes.find((o) => o.error);
    if (refused) throw refused.error;
    await this.sync.db.transaction(write);
    await this.sync.admission.amend(outcomes);
    await this.sync.durable();
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

/**
 * Snapshot chunks may be fetched by a page of any origin: a name is a capability handed out only
 * in an entitled session, the token (a header, never a cookie) is still checked, and nothing
 * else is readable cross-origin.
 */
const CHUNK_CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, HEAD',
  'access-control-allow-headers': 'authorization, if-none-match',
  'access-control-expose-headers': 'etag',
};

/** JSON with every character beyond ASCII escaped: what a header value may hold. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body ?? null);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** A percent-decoded path segment; malformed encoding (`%E0%A4%A`) is the client's error. */
function pathPart(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'BAD_PATH', `malformed percent-encoding in ${JSON.stringify(raw)}`);
  }
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
