import type { AttachmentFetcher } from '../Attachments.js';
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
