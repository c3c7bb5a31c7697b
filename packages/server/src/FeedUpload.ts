import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform } from 'node:stream';
import { SyncError } from '@concord/db';
import { FeedError, type FeedFormat, readFeedStream } from '@concord/feed';
import { type Principal, scope } from './Auth.js';
import type { FeedIngest } from './FeedIngest.js';
import { HttpError } from './HttpError.js';
import type { SyncServer } from './SyncServer.js';

/** A feed's format by the upload's Content-Type. */
const FORMATS: Readonly<Record<string, FeedFormat>> = {
  'application/x-ndjson': 'jsonl',
  'application/jsonl': 'jsonl',
  'application/x-jsonlines': 'jsonl',
  'text/csv': 'csv',
};

/**
 * `POST /api/feed`: the head office uploads its feed (JSON Lines or CSV, by Content-Type) to the
 * server that ingests it, which publishes it to the feed's stream on NATS JetStream — as
 * `concord feed publish` does, only what changed is stored — and answers once JetStream holds
 * every message: `{ published, stored, duplicates }`. The consumers then take it in, to the SQL
 * projection and the catalogue, and the stores. A feed may replace any document of the
 * collection, so it takes a token that may write all of it. The body is read as a stream,
 * at most `limits.maxFeedBytes`; a record that is no product is `400 BAD_RECORD` with its line,
 * and the records before it are published.
 */
export class FeedUpload {
  constructor(
    private readonly sync: SyncServer,
    private readonly feed: Pick<FeedIngest, 'collection' | 'publish'> | undefined,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse, principal: Principal): Promise<void> {
    if (req.method !== 'POST') throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} on the feed`);
    const feed = this.feed;
    if (!feed)
      throw new HttpError(
        404,
        'NO_FEED',
        'this server ingests no feed (concord serve --nats <url> --ingest <collection>)',
      );
    if (scope(principal, feed.collection, 'write') !== undefined)
      throw new SyncError(
        'FORBIDDEN',
        `a feed may replace any of ${feed.collection}: it takes a token that may write all of it`,
      );
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const format = FORMATS[type];
    if (!format)
      throw new HttpError(
        415,
        'BAD_FORMAT',
        `a feed is JSON Lines (application/x-ndjson) or CSV (text/csv), not ${type || 'untyped'}`,
      );
    const max = this.sync.limits.maxFeedBytes;
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > max) throw new HttpError(413, 'TOO_LARGE', `a feed of ${length} bytes, over ${max}`);
    let seen = 0;
    const body = req.pipe(
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          seen += chunk.length;
          if (seen > max) done(new HttpError(413, 'TOO_LARGE', `a feed of more than ${max} bytes`));
          else done(null, chunk);
        },
      }),
    );
    req.once('error', (e) => body.destroy(e));
    try {
      // Publishing is no traffic on the socket: each step of progress restarts its idle timer.
      const done = await feed.publish(readFeedStream(body, format, 'the feed'), () =>
        req.socket.setTimeout(this.sync.limits.headersTimeoutMs),
      );
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(done));
    } catch (e) {
      req.unpipe();
      req.resume();
      if (e instanceof FeedError) throw new HttpError(e.code === 'UNAVAILABLE' ? 503 : 400, e.code, e.reason);
      throw e;
    }
  }
}
