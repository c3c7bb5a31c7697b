import type { VersionVector } from '@concord/crdt';
import { core, filterTerms, matches } from '@concord/db/internal';
import type { Outbound } from './Outbound.js';
import type { Sub } from './Selection.js';
import type { SessionHost } from './SyncServer.js';
import { isAtOrBefore } from './versions.js';

/** A filter of at most this many conditions is run as one query (see `selected`). */
const SMALL_FILTER = 16;
/** Documents matched against a large filter between two turns of the event loop. */
const MATCH_SLICE = 128;

/**
 * Streams what subscription `s` selects at version `now` in chunks of stored forms of about
 * `chunkBytes`, waiting whenever the client lags; afterwards the subscription's cursor is the
 * version the stream started from (later changes come from the log). Resumes after the last
 * document a previous, interrupted stream delivered. False if the session ended meanwhile.
 */
export async function streamSnapshot(
  host: SessionHost,
  out: Outbound,
  s: Sub,
  now: VersionVector,
): Promise<boolean> {
  const resume = s.resume && isAtOrBefore(s.resume.version, now) ? s.resume : undefined;
  const base = resume ? resume.version : now;
  let ids = await selected(host, out, s);
  if (out.isClosed()) return false;
  if (resume) ids = ids.filter((id) => id > resume.after);
  const replica = core(host.db);
  const forms = ids.map((id) => replica.storedDocument(s.filter.collection, id)!);
  let done = resume?.done ?? 0;
  const totalDocs = done + forms.length;
  const totalBytes = forms.reduce((n, f) => n + f.length, 0);
  let bytes = 0;
  let chunk: Uint8Array[] = [];
  let chunkBytes = 0;
  const flush = async (): Promise<boolean> => {
    done += chunk.length;
    out.send({
      type: 'chunk',
      sub: s.index,
      version: base,
      docs: chunk,
      progress: { docs: done, totalDocs, bytes, totalBytes },
    });
    host.metrics.changesOut.inc(chunk.length);
    chunk = [];
    chunkBytes = 0;
    return out.drained();
  };
  for (const stored of forms) {
    chunk.push(stored);
    chunkBytes += stored.length;
    bytes += stored.length;
    if (chunkBytes >= host.limits.chunkBytes && !(await flush())) return false;
  }
  if ((chunk.length > 0 || forms.length === 0) && !(await flush())) return false;
  s.cursor = base;
  s.resume = undefined;
  return true;
}

/**
 * The ids of the documents subscription `s` selects. A filter of a few conditions runs as one
 * query (indexes apply); a larger one costs its conditions for every document, so it is
 * matched a slice at a time and the server answers everyone else in between — hundreds of
 * conditions over a large collection would otherwise hold the event loop for seconds.
 */
async function selected(host: SessionHost, out: Outbound, s: Sub): Promise<string[]> {
  const replica = core(host.db);
  const { collection, where } = s.filter;
  if (!where || filterTerms(where) <= SMALL_FILTER) return replica.documentIds(collection, where);
  const all = replica.documentIds(collection);
  const ids: string[] = [];
  for (let i = 0; i < all.length; i += MATCH_SLICE) {
    for (const id of all.slice(i, i + MATCH_SLICE))
      if (matches(replica.documentValue(collection, id), where)) ids.push(id);
    await host.turn();
    if (out.isClosed()) return [];
  }
  return ids;
}
