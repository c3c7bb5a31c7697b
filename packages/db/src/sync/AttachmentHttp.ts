import type { AttachmentFetcher, AttachmentUploader } from '../Attachments.js';
import { DbError } from '../errors.js';

/** The HTTP origin (and path prefix) of the sync server at a WebSocket URL: `ws://h:p/sync` → `http://h:p`. */
export function httpBase(wsUrl: string): string {
  const u = new URL(wsUrl);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.pathname = u.pathname.replace(/\/sync\/?$/, '');
  u.search = '';
  return u.toString().replace(/\/$/, '');
}

/**
 * Fetches attachments from the sync server (`GET /api/attachments/<hash>`, `Range: bytes=<offset>-`
 * to resume), reading the response as it streams: what a synced database's `attachments.get`
 * and `read` use for bytes they lack. `base` and `token` are asked per fetch: the server a client
 * syncs with may change (several nodes), and so may its token.
 */
export function httpAttachmentFetcher(
  base: () => string | undefined,
  token: () => Promise<string>,
): AttachmentFetcher {
  return async function* fetchAttachment(ref, offset) {
    const origin = base();
    if (!origin) throw new DbError('UNAVAILABLE', 'no sync server to fetch attachments from');
    const headers: Record<string, string> = {};
    const t = await token();
    if (t) headers.authorization = `Bearer ${t}`;
    if (offset > 0) headers.range = `bytes=${offset}-`;
    let res: Response;
    try {
      res = await fetch(`${origin}/api/attachments/${ref.$attachment}`, { headers });
    } catch (e) {
      throw new DbError('UNAVAILABLE', `attachment ${ref.$attachment}: ${(e as Error).message}`);
    }
    if (res.status !== (offset > 0 ? 206 : 200) || !res.body) {
      await res.body?.cancel();
      throw new DbError('UNAVAILABLE', `attachment ${ref.$attachment}: the server answered ${res.status}`);
    }
    const reader = res.body.getReader();
    try {
      for (;;) {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await reader.read();
        } catch (e) {
          // What arrived is kept; the next read resumes after it.
          throw new DbError(
            'UNAVAILABLE',
            `attachment ${ref.$attachment}: the transfer was cut (${(e as Error).message})`,
          );
        }
        if (next.done) return;
        yield next.value;
      }
    } finally {
      reader.releaseLock();
    }
  };
}

/**
 * Uploads attachments to the sync server (`PUT /api/attachments/<hash>`), unless it has them
 * (`HEAD`). Node streams the body piece by piece; a browser, whose fetch streams request bodies
 * only over HTTP/2, sends it as a Blob of the pieces.
 */
export function httpAttachmentUploader(
  base: () => string | undefined,
  token: () => Promise<string>,
): AttachmentUploader {
  return async (ref, bytes) => {
    const origin = base();
    if (!origin) throw new DbError('UNAVAILABLE', 'no sync server to upload attachments to');
    const url = `${origin}/api/attachments/${ref.$attachment}`;
    const headers: Record<string, string> = {};
    const t = await token();
    if (t) headers.authorization = `Bearer ${t}`;
    try {
      const head = await fetch(url, { method: 'HEAD', headers });
      if (head.ok) return;
      const node = typeof process !== 'undefined' && process.versions?.node !== undefined;
      let body: BodyInit;
      if (node) body = bytes() as unknown as BodyInit;
      else {
        const pieces: Uint8Array<ArrayBuffer>[] = [];
        for await (const p of bytes()) pieces.push(new Uint8Array(p));
        body = new Blob(pieces);
      }
      const res = await fetch(url, {
        method: 'PUT',
        headers: {
          ...headers,
          'content-type': ref.type,
          ...(node ? { 'content-length': String(ref.size) } : {}),
        },
        body,
        duplex: 'half',
      } as RequestInit);
      await res.body?.cancel();
      if (!res.ok)
        throw new DbError('UNAVAILABLE', `attachment ${ref.$attachment}: the server answered ${res.status}`);
    } catch (e) {
      if (e instanceof DbError) throw e;
      throw new DbError('UNAVAILABLE', `attachment ${ref.$attachment}: ${(e as Error).message}`);
    }
  };
}
