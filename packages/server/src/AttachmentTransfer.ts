import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AttachmentRef, DbError, SyncError } from '@concord/db';
import { AttachmentReferences } from './AttachmentReferences.js';
import { type Principal, scope, visibleDocument } from './Auth.js';
import { HttpError } from './HttpError.js';
import type { SyncServer } from './SyncServer.js';

const HASH = /^[0-9a-f]{64}$/;

/**
 * Attachments over HTTP, stored once under their SHA-256 in the server's database:
 * `GET /api/attachments/<hash>` streams them piece by piece (a `Range: bytes=<n>-` resumes a
 * download that was cut), `HEAD` says whether the server has one, `PUT` uploads one, checked
 * against its hash as it streams in (`422 BAD_ATTACHMENT` if it does not match; nothing is kept).
 * Reading takes a caller who may read a document that references the attachment (or reads
 * everything): a hash is no capability — anyone holding the same file can compute it — so
 * to anyone else the attachment is as absent as a document outside their scope (404);
 * uploading takes one with a write grant. A
 * transfer reads or writes one piece (`ATTACHMENT_PIECE_BYTES`) at a time, and a response waits
 * for a slow reader to drain before the next.
 */
export class AttachmentTransfer {
  private readonly references: AttachmentReferences;

  constructor(private readonly sync: SyncServer) {
    this.references = new AttachmentReferences(sync.db);
  }

  close(): void {
    this.references.close();
  }

  /** Whether `principal` may read attachment `hash`: it reads everything, or a document referencing it. */
  private mayRead(principal: Principal, hash: string): boolean {
    if (scope(principal, '*', 'read') === undefined) return true;
    for (const { collection, id } of this.references.referrers(hash))
      if (visibleDocument(this.sync.db, principal, collection, id, 'read')) return true;
    return false;
  }

  async handle(req: IncomingMessage, res: ServerResponse, hash: string, principal: Principal): Promise<void> {
    if (!HASH.test(hash))
      throw new HttpError(400, 'BAD_PATH', 'an attachment is named by its SHA-256 in hex');
    if (req.method === 'PUT') return this.upload(req, res, hash, principal);
    if (req.method !== 'GET' && req.method !== 'HEAD')
      throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} on an attachment`);
    const size = this.mayRead(principal, hash) ? await this.sync.db.attachments.size(hash) : undefined;
    if (size === undefined) throw new HttpError(404, 'NOT_FOUND', `no attachment ${hash}`);
    const range = req.headers.range;
    let offset = 0;
    if (range !== undefined) {
      const m = /^bytes=(\d+)-$/.exec(range);
      if (!m || Number(m[1]) >= size) {
        res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
        return;
      }
      offset = Number(m[1]);
    }
    res.writeHead(range ? 206 : 200, {
      'content-type': 'application/octet-stream',
      'content-length': size - offset,
      'accept-ranges': 'bytes',
      etag: `"${hash}"`,
      // The same hash is the same bytes, forever; shared caches keep it only when no token was needed.
      'cache-control': `${req.headers.authorization ? 'private' : 'public'}, max-age=31536000, immutable`,
      ...(range ? { 'content-range': `bytes ${offset}-${size - 1}/${size}` } : {}),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const ref: AttachmentRef = { $attachment: hash, size, type: 'application/octet-stream' };
    for await (const piece of this.sync.db.attachments.read(ref, offset)) {
      if (res.destroyed) return;
      if (!res.write(piece))
        await new Promise((resolve) => res.once('drain', resolve).once('close', resolve));
    }
    res.end();
  }

  private async upload(
    req: IncomingMessage,
    res: ServerResponse,
    hash: string,
    principal: Principal,
  ): Promise<void> {
    if (!principal.grants.some((g) => g.write))
      throw new SyncError('FORBIDDEN', 'uploading attachments takes a write grant');
    const length = req.headers['content-length'];
    if (length === undefined || !/^\d+$/.test(length))
      throw new HttpError(411, 'LENGTH_REQUIRED', 'an upload says its Content-Length');
    const size = Number(length);
    const max = this.sync.limits.maxAttachmentBytes;
    if (size > max) throw new HttpError(413, 'TOO_LARGE', `an attachment of ${size} bytes, over ${max}`);
    const ref: AttachmentRef = {
      $attachment: hash,
      size,
      type: req.headers['content-type'] ?? 'application/octet-stream',
    };
    try {
      await this.sync.db.attachments.receive(ref, req as AsyncIterable<Uint8Array>);
    } catch (e) {
      if (e instanceof DbError && e.code === 'BAD_ATTACHMENT') throw new HttpError(422, e.code, e.message);
      if (e instanceof DbError && e.code === 'UNAVAILABLE') throw new HttpError(400, 'INCOMPLETE', e.message);
      throw e;
    }
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(ref));
  }
}
