import type { VersionVector } from '@concord/crdt';
import { core, encodeMessageAsync, filterTerms, matches } from '@concord/db/internal';
import type { Outbound } from './Outbound.js';
import type { Sub } from './Selection.js';
import { SnapshotBuild, SnapshotCache } from './SnapshotCache.js';
import type { SessionHost } from './SyncServer.js';
import { isAtOrBefore } from './versions.js';

/** A filter of at most this many conditions is run as one query (see `selected`). */
const SMALL_FILTER = 16;
/** Documents matched against a large filter between two turns of the event loop. */
const MATCH_SLICE = 128;
/**
 * A snapshot smaller than this travels on the WebSocket even to a client that fetches chunks over
 * HTTP: a request costs it a round trip and a connection for fewer bytes than the frame (an
 * empty subscription's snapshot is one frame of a few bytes — a thousand clients subscribing
 * to one were each left a kept-alive connection to time out).
 */
const MANIFEST_MIN_BYTES = 4 * 1024;

/**
 * Sends what subscription `s` selects at version `now` in chunks of stored forms of about
 * `chunkBytes`, waiting whenever the client lags; afterwards the subscription's cursor is the
 * version the stream started from (later changes come from the log). From scratch, the chunks
 * are the ones built for every client asking the same (`SnapshotCache`) — and once built, a
 * client that fetches over HTTP (`overHttp`) is sent only their names, a manifest: it fetches
 * them from `GET /sync/chunks/<sha-256>`, immutable and cacheable, so a CDN can serve a chain's
 * stores.
 * Resuming after the last document a previous, interrupted stream delivered, they are built for
 * this client and sent on the WebSocket. False if the session ended meanwhile.
 */
export async function streamSnapshot(
  host: SessionHost,
  out: Outbound,
  s: Sub,
  now: VersionVector,
  /** The read scope (`readScope`) of a client that fetches chunks over HTTP; none if it does not. */
  overHttp?: string,
): Promise<boolean> {
  const resume = s.resume && isAtOrBefore(s.resume.version, now) ? s.resume : undefined;
  if (resume) {
    // The rest of an interrupted snapshot: this client's alone.
    const build = new SnapshotBuild();
    void buildSnapshot(host, s, resume.version, build, resume, out.isClosed);
    return send(host, out, s, build, resume.version);
  }
  // From scratch, the snapshot is every such client's: built once (see SnapshotCache).
  const key = SnapshotCache.key(s.filter.key, s.index, now);
  let build = host.snapshots.get(key);
  if (build) host.metrics.snapshotsCached.inc();
  else {
    build = host.snapshots.start(key);
    const started = build;
    // Built while someone sends it: a client that asks and leaves (or a hostile one, asking
    // again and again) does not leave the server building a whole catalogue for no one.
    void buildSnapshot(host, s, now, build, undefined, () => started.readers === 0).finally(() =>
      host.snapshots.ended(key, started),
    );
  }
  // A snapshot still being built streams on the WebSocket, each chunk as soon as it is made (to
  // every client asking meanwhile): waiting for the whole of it to name its chunks left the
  // first store idle for the build (about a second for 100,000 products) before fetching any.
  if (overHttp !== undefined && build.complete && build.bytes >= MANIFEST_MIN_BYTES) {
    const chunks = host.snapshots.refs(key, build, overHttp);
    if (chunks && !out.isClosed()) {
      host.metrics.snapshotsOverHttp.inc();
      out.send({ type: 'manifest', sub: s.index, version: now, chunks });
      if (!(await out.drained())) return false;
      s.cursor = now;
      s.resume = undefined;
      return true;
    }
  }
  build.readers++;
  try {
    return await send(host, out, s, build, now);
  } finally {
    build.readers--;
  }
}

/** Sends `build`'s frames as they come, waiting for the client between them; then the cursor is `version`. */
async function send(host: SessionHost, out: Outbound, s: Sub, build: SnapshotBuild, version: VersionVector) {
  for (let i = 0; await build.has(i); i++) {
    out.sendFrame(build.frames[i]!);
    host.metrics.changesOut.inc(build.docs[i]!);
    if (!(await out.drained())) return false;
  }
  if (out.isClosed()) return false;
  s.cursor = version;
  s.resume = undefined;
  return true;
}

/**
 * Builds what subscription `s` selects at `version` into `build`, in chunk frames of stored forms
 * of about `chunkBytes`, a turn of the event loop between them; after `resume.after` when
 * resuming. Stops early once `abandoned()` says no one is left to send it to.
 */
async function buildSnapshot(
  host: SessionHost,
  s: Sub,
  version: VersionVector,
  build: SnapshotBuild,
  resume: { readonly after: string; readonly done: number } | undefined,
  abandoned: () => boolean,
): Promise<void> {
  const { collection, where } = s.filter;
  // Documents that change while the build runs (it takes turns): their state, read later, is
  // newer than `version` — harmless, the log after it joins in again — but one removed or moved
  // out of the subscription since it was selected must not be sent.
  const changed = new Set<string>();
  const stop = host.db.onChange((e) => {
    for (const d of e.docs) if (d.collection === collection) changed.add(d.docId);
  });
  // A chunk deflates off the event loop (`encodeMessageAsync`) while the next is read and
  // encoded; frames join the build in order, one at most waiting to.
  let pushed: Promise<void> = Promise.resolve();
  try {
    host.metrics.snapshotsBuilt.inc();
    let ids = await selected(host, s, abandoned);
    if (resume) ids = ids.filter((id) => id > resume.after);
    const replica = core(host.db);
    let done = resume?.done ?? 0;
    const totalDocs = done + ids.length;
    let bytes = 0;
    let read = 0;
    let chunk: Uint8Array[] = [];
    let chunkBytes = 0;
    const flush = async () => {
      done += chunk.length;
      // Stored forms are read a chunk at a time (those of documents written moments ago are made
      // as they are read: ~1 s per 100,000 products, which every store asking would wait for before
      // its first chunk): the total is estimated from those read so far, exact at the last chunk.
      const totalBytes = read === ids.length ? bytes : Math.round((bytes / read) * ids.length);
      const progress = { docs: done, totalDocs, bytes, totalBytes };
      const frame = encodeMessageAsync({ type: 'chunk', sub: s.index, version, docs: chunk, progress });
      const count = chunk.length;
      const before = pushed;
      pushed = Promise.all([frame, before]).then(([f]) => build.push(f, count));
      chunk = [];
      chunkBytes = 0;
      await before;
      await host.turn();
    };
    for (const id of ids) {
      if (abandoned()) break;
      read++;
      const stored = replica.storedDocument(collection, id);
      if (!stored) continue;
      if (changed.size > 0 && changed.has(id)) {
        const value = replica.documentValue(collection, id);
        if (!value || !matches(value, where)) continue;
      }
      chunk.push(stored);
      chunkBytes += stored.length;
      bytes += stored.length;
      if (chunkBytes >= host.limits.chunkBytes) await flush();
    }
    if (abandoned()) {
      host.metrics.snapshotsAbandoned.inc();
      await pushed;
      build.abandon();
      return;
    }
    if (chunk.length > 0 || ids.length === 0) await flush();
    await pushed;
    build.finish();
  } catch (e) {
    build.fail(e as Error);
  } finally {
    stop();
    // Failed midway: a chunk still deflating has no one left to wait for it.
    pushed.catch(() => undefined);
  }
}

/**
 * The ids of the documents subscription `s` selects. A filter of a few conditions runs as one
 * query (indexes apply); a larger one costs its conditions for every document, so it is
 * matched a slice at a time and the server answers everyone else in between — hundreds of
 * conditions over a large collection would otherwise hold the event loop for seconds.
 */
async function selected(host: SessionHost, s: Sub, abandoned: () => boolean): Promise<string[]> {
  const replica = core(host.db);
  const { collection, where } = s.filter;
  if (!where || filterTerms(where) <= SMALL_FILTER) return replica.documentIds(collection, where);
  const all = replica.documentIds(collection);
  const ids: string[] = [];
  for (let i = 0; i < all.length; i += MATCH_SLICE) {
    for (const id of all.slice(i, i + MATCH_SLICE))
      if (matches(replica.documentValue(collection, id), where)) ids.push(id);
    await host.turn();
    if (abandoned()) return [];
  }
  return ids;
}
