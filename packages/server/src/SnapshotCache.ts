import { createHash } from 'node:crypto';
import type { VersionVector } from '@concord/crdt';
import type { ChunkRef } from '@concord/db/internal';

/**
 * One snapshot's frames, as sent, with the documents each carries: appended while it is built,
 * read by every client sending it meanwhile and after.
 */
export class SnapshotBuild {
  readonly frames: Uint8Array[] = [];
  readonly docs: number[] = [];
  bytes = 0;
  /** Once complete and kept: each frame's SHA-256, the name it is fetched by over HTTP. */
  refs: ChunkRef[] | undefined;
  /** Clients being sent its frames as they come (see `streamSnapshot`): once none is left midway, it stops. */
  readers = 0;
  private done = false;
  private abandoned = false;
  private failure: Error | undefined;
  private waiting: Array<() => void> = [];

  push(frame: Uint8Array, docs: number): void {
    this.frames.push(frame);
    this.docs.push(docs);
    this.bytes += frame.length;
    this.wake();
  }

  finish(): void {
    this.done = true;
    this.wake();
  }

  fail(e: Error): void {
    this.failure = e;
    this.finish();
  }

  /** Ends it short: no one is left to send it to (it is not kept). */
  abandon(): void {
    this.abandoned = true;
    this.finish();
  }

  get complete(): boolean {
    return this.done && !this.failure && !this.abandoned;
  }

  /** Whether it was abandoned: a client asking now needs a build of its own. */
  get stopped(): boolean {
    return this.abandoned;
  }

  /** Waits until frame `i` exists (true) or the build ended before it (false); throws if it failed. */
  async has(i: number): Promise<boolean> {
    while (i >= this.frames.length && !this.done) await new Promise<void>((r) => this.waiting.push(r));
    if (this.failure) throw this.failure;
    return i < this.frames.length;
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w();
  }
}

/**
 * Initial syncs built once. A subscription's snapshot at a version is the same bytes for every
 * client that asks for it from scratch — the same filter (the client's, narrowed by its grants),
 * the same place among its subscriptions, the server at the same version — so the encoded,
 * deflated chunk frames are built once, by whichever client asks first, and every client asking
 * meanwhile or later is sent them as they are. Seed 000's morning: a chain's stores sync their
 * assortments at once; each assortment costs the server its selection, encoding and deflate
 * once (about a second for 100,000 products), and the sending per store. ElectricSQL serves a
 * shape's log to many clients the same way.
 *
 * Finished snapshots go least recently used first, within `maxBytes`. A write moves the
 * server's version on, so later clients get a snapshot built anew; the older one ages out.
 */
export class SnapshotCache {
  private readonly builds = new Map<string, SnapshotBuild>();
  /** The frames of kept snapshots by their SHA-256: what `GET /sync/chunks/<hash>` serves. */
  private readonly byHash = new Map<string, Uint8Array>();
  /**
   * By SHA-256: the read scopes (`readScope`) of the sessions that were given the chunk's name.
   * A name is no capability — it leaks as URLs do (logs, proxies, a shared link) — so a chunk is
   * served only to a caller with the read scope of someone it was named to.
   */
  private readonly readers = new Map<string, Set<string>>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  static key(filter: string, sub: number, version: VersionVector): string {
    const entries = Object.entries(version.toJSON()).sort(([a], [b]) => (a < b ? -1 : 1));
    return `${filter}\u0000${sub}\u0000${JSON.stringify(entries)}`;
  }

  /** The snapshot under `key`, built or being built; undefined if it is to be built (`start`). */
  get(key: string): SnapshotBuild | undefined {
    const found = this.builds.get(key);
    if (found?.stopped) return undefined;
    if (found) {
      this.builds.delete(key);
      this.builds.set(key, found);
    }
    return found;
  }

  /** A build of the snapshot under `key`, found by later clients while it runs and, if kept, after. */
  start(key: string): SnapshotBuild {
    const build = new SnapshotBuild();
    this.builds.set(key, build);
    return build;
  }

  /** Called when `build` ended: kept within the budget if it completed, dropped if not. */
  ended(key: string, build: SnapshotBuild): void {
    if (this.builds.get(key) !== build) return;
    if (!build.complete || build.bytes > this.maxBytes) {
      this.drop(key, build);
      return;
    }
    this.bytes += build.bytes;
    for (const [k, b] of this.builds) {
      if (this.bytes <= this.maxBytes) break;
      if (!b.complete) continue;
      this.drop(k, b);
      this.bytes -= b.bytes;
    }
  }

  /**
   * The chunks of the complete snapshot under `key`, named by their SHA-256 and served by
   * `chunk(hash, reader)` while the snapshot is kept, for a session with read scope `reader`;
   * undefined if it is not kept (too large for the budget): it is then sent over the WebSocket.
   */
  refs(key: string, build: SnapshotBuild, reader: string): ChunkRef[] | undefined {
    if (!build.complete || this.builds.get(key) !== build || build.bytes > this.maxBytes) return undefined;
    if (!build.refs) {
      build.refs = build.frames.map((frame, i) => {
        const hash = createHash('sha256').update(frame).digest('hex');
        this.byHash.set(hash, frame);
        return { hash, docs: build.docs[i]!, bytes: frame.length };
      });
    }
    for (const { hash } of build.refs) {
      let readers = this.readers.get(hash);
      if (!readers) {
        readers = new Set();
        this.readers.set(hash, readers);
      }
      readers.add(reader);
    }
    return build.refs;
  }

  /** A kept snapshot's frame by its SHA-256 (hex), if it was named to a session with read scope `reader`. */
  chunk(hash: string, reader: string): Uint8Array | undefined {
    return this.readers.get(hash)?.has(reader) ? this.byHash.get(hash) : undefined;
  }

  private drop(key: string, build: SnapshotBuild): void {
    this.builds.delete(key);
    // Two snapshots may share a chunk (the same documents); it stays while either is kept.
    const kept = new Set([...this.builds.values()].flatMap((b) => (b.refs ?? []).map((r) => r.hash)));
    for (const r of build.refs ?? [])
      if (!kept.has(r.hash)) {
        this.byHash.delete(r.hash);
        this.readers.delete(r.hash);
      }
  }
}
