import { sha256 } from '@noble/hashes/sha2.js';
import { DbError } from './errors.js';
import type { Storage } from './storage/Storage.js';
import type { AttachmentRef } from './values.js';

/**
 * Attachments larger than this are stored in pieces of this size, each under a key of its own
 * (`<hash>.<n>`), and read and fetched piece by piece: memory held per attachment is one piece,
 * whatever its size, and a fetch cut off resumes at the last piece it stored.
 */
export const ATTACHMENT_PIECE_BYTES = 1 << 20;

/**
 * Fetches an attachment's bytes from `offset` on, as a stream of pieces of any size (the sync
 * layer installs one: HTTP with a `Range`). It may end early or throw: what arrived is kept.
 */
export type AttachmentFetcher = (ref: AttachmentRef, offset: number) => AsyncIterable<Uint8Array>;

/** Sends an attachment this replica made to the server (the sync layer installs one: HTTP PUT). */
export type AttachmentUploader = (
  ref: AttachmentRef,
  bytes: () => AsyncIterable<Uint8Array>,
) => Promise<void>;

/**
 * The storage keys of the attachments put here and not yet uploaded: two slots, each a JSON
 * `{ generation, refs }`; the one of the higher generation is the queue. Storage writes a key
 * once (deleting it first to write it again), so an edit writes the other slot: a crash between
 * its delete and its write leaves the queue as it was, never none. (`uploads`, one key, is what
 * earlier versions kept: read while neither slot exists.)
 */
const UPLOAD_SLOTS = ['uploads.0', 'uploads.1'] as const;
const LEGACY_UPLOADS = 'uploads';

/** One slot of the upload queue. */
interface UploadQueue {
  readonly generation: number;
  readonly refs: AttachmentRef[];
}

/** Where `receive` reads bytes from: all of them, or from an offset it chooses (to resume). */
type Source =
  | Iterable<Uint8Array>
  | AsyncIterable<Uint8Array>
  | ((offset: number) => AsyncIterable<Uint8Array>);

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const utf8 = new TextEncoder();

/**
 * Content-addressed bytes (seed 001's attachments: images, PDFs, video): stored once under
 * their SHA-256, referenced from a document by an `AttachmentRef` in a register. A replica that
 * has the document but not the bytes fetches them on first read through the fetcher, checks
 * them against the hash, and keeps them for offline use.
 *
 * In storage, an attachment up to `ATTACHMENT_PIECE_BYTES` is one entry under its hash; a
 * larger one is its pieces (`<hash>.0`, `<hash>.1`, …) and, written last once the whole hash
 * checked out, `<hash>.pieces` saying how many: an attachment is there when one of the two is.
 */
export class Attachments {
  private current: AttachmentFetcher | undefined;
  /** Transfers under way, by hash: one at a time per attachment, so two readers share one download. */
  private readonly transfers = new Map<string, Promise<void>>();

  constructor(private readonly storage: Storage) {}

  private uploader: AttachmentUploader | undefined;
  private uploading: Promise<void> | undefined;
  private queueEdits: Promise<void> = Promise.resolve();

  /**
   * Stores `bytes` (once: the same bytes again change nothing) and returns the reference to put
   * in a document. The attachment is queued for upload (the queue is kept in storage: it
   * survives a restart), and sent once an uploader is set — a synced database's server.
   */
  async put(bytes: Uint8Array, type = 'application/octet-stream'): Promise<AttachmentRef> {
    const ref = { $attachment: hex(sha256(bytes)), size: bytes.length, type };
    await this.receive(ref, [bytes]);
    await this.editUploads((queue) =>
      queue.some((r) => r.$attachment === ref.$attachment) ? queue : [...queue, ref],
    );
    void this.upload().catch(() => undefined);
    return ref;
  }

  /** Attachments put here that the server does not hold yet, as far as this replica knows. */
  async uploads(): Promise<AttachmentRef[]> {
    return (await this.uploadQueue()).queue.refs;
  }

  /** The upload queue, and the slot it is in (none: the legacy key, or nothing yet). */
  private async uploadQueue(): Promise<{ queue: UploadQueue; slot: number | undefined }> {
    let found: { queue: UploadQueue; slot: number | undefined } | undefined;
    for (const [slot, key] of UPLOAD_SLOTS.entries()) {
      const bytes = await this.storage.getAttachment(key);
      const queue = bytes && (JSON.parse(new TextDecoder().decode(bytes)) as UploadQueue);
      if (queue && (!found || queue.generation > found.queue.generation)) found = { queue, slot };
    }
    if (found) return found;
    const legacy = await this.storage.getAttachment(LEGACY_UPLOADS);
    const refs = legacy ? (JSON.parse(new TextDecoder().decode(legacy)) as AttachmentRef[]) : [];
    return { queue: { generation: 0, refs }, slot: undefined };
  }

  /**
   * Sets where attachments put here go (none: they wait), and sends those waiting. The sync
   * client sets one, and calls `upload` again on every connection.
   */
  setUploader(uploader: AttachmentUploader | undefined): void {
    this.uploader = uploader;
    if (uploader) void this.upload().catch(() => undefined);
  }

  /** Sends the attachments waiting, in order, one at a time; each leaves the queue once the server has it. */
  upload(): Promise<void> {
    this.uploading ??= (async () => {
      try {
        for (;;) {
          const uploader = this.uploader;
          const [next] = await this.uploads();
          if (!uploader || !next) return;
          await uploader(next, () => this.read(next));
          await this.editUploads((queue) => queue.filter((r) => r.$attachment !== next.$attachment));
        }
      } finally {
        this.uploading = undefined;
      }
    })();
    return this.uploading;
  }

  /**
   * Rewrites the upload queue into the slot it is not in, one edit at a time (puts and uploads
   * edit it concurrently).
   */
  private editUploads(edit: (queue: AttachmentRef[]) => AttachmentRef[]): Promise<void> {
    const next = this.queueEdits.then(async () => {
      const { queue, slot } = await this.uploadQueue();
      const key = UPLOAD_SLOTS[slot === 0 ? 1 : 0];
      const written: UploadQueue = { generation: queue.generation + 1, refs: edit(queue.refs) };
      await this.storage.deleteAttachment(key);
      await this.storage.putAttachment(key, utf8.encode(JSON.stringify(written)));
      if (slot === undefined) await this.storage.deleteAttachment(LEGACY_UPLOADS);
    });
    this.queueEdits = next.catch(() => undefined);
    return next;
  }

  /** Whether this replica holds the whole attachment. */
  async has(ref: Pick<AttachmentRef, '$attachment'>): Promise<boolean> {
    return (await this.size(ref.$attachment)) !== undefined;
  }

  /** The size of the attachment with this hash, if this replica holds it whole. */
  async size(hash: string): Promise<number | undefined> {
    const pieces = await this.storage.getAttachment(`${hash}.pieces`);
    if (pieces) return (JSON.parse(new TextDecoder().decode(pieces)) as { size: number }).size;
    return (await this.storage.getAttachment(hash))?.length;
  }

  /**
   * The whole bytes, from storage or else fetched (and kept); undefined if neither has them.
   * For a large attachment, `read` holds one piece at a time instead.
   */
  async get(ref: AttachmentRef): Promise<Uint8Array | undefined> {
    if (!(await this.ensure(ref))) return undefined;
    const out = new Uint8Array(ref.size);
    let at = 0;
    for await (const piece of this.pieces(ref, 0)) {
      out.set(piece, at);
      at += piece.length;
    }
    return out;
  }

  /**
   * The bytes from `offset` on, piece by piece (at most `ATTACHMENT_PIECE_BYTES` each), fetched
   * first if this replica lacks them: `UNAVAILABLE` if it cannot, `BAD_ATTACHMENT` if what came
   * is not what the hash names.
   */
  async *read(ref: AttachmentRef, offset = 0): AsyncGenerator<Uint8Array> {
    if (!(await this.ensure(ref)))
      throw new DbError(
        'UNAVAILABLE',
        `attachment ${ref.$attachment} is not here, and there is no server to fetch it from`,
      );
    yield* this.pieces(ref, offset);
  }

  /** The stored bytes from `offset` on, piece by piece (the attachment is here). */
  private async *pieces(ref: AttachmentRef, offset: number): AsyncGenerator<Uint8Array> {
    const whole = await this.storage.getAttachment(ref.$attachment);
    if (whole) {
      if (offset < whole.length) yield whole.subarray(offset);
      return;
    }
    const size = (await this.size(ref.$attachment))!;
    for (let n = Math.floor(offset / ATTACHMENT_PIECE_BYTES); n * ATTACHMENT_PIECE_BYTES < size; n++) {
      const piece = await this.storage.getAttachment(`${ref.$attachment}.${n}`);
      if (!piece) throw new DbError('UNAVAILABLE', `attachment ${ref.$attachment} lost its piece ${n}`);
      yield n * ATTACHMENT_PIECE_BYTES < offset ? piece.subarray(offset - n * ATTACHMENT_PIECE_BYTES) : piece;
    }
  }

  setFetcher(fetcher: AttachmentFetcher | undefined): void {
    this.current = fetcher;
  }

  /** Where bytes this replica lacks come from: a synced database's server, or one set by hand. */
  get fetcher(): AttachmentFetcher | undefined {
    return this.current;
  }

  /**
   * Stores the bytes `source` streams (from `offset`, which `receive` chooses: where an earlier,
   * cut-off transfer stopped), keeping one piece in memory at a time, and keeps them only if they
   * are exactly `ref.size` bytes hashing to `ref.$attachment` (else `BAD_ATTACHMENT`, and
   * nothing of them is kept). A source that ends early or throws leaves the whole pieces it
   * delivered, for the next call to resume from. A server receives uploads with this.
   */
  receive(ref: AttachmentRef, source: Source): Promise<void> {
    return this.transfer(ref, source);
  }

  /** Runs `store` for the attachment after any transfer of it under way, unless that one stored it. */
  private async transfer(ref: AttachmentRef, source: Source): Promise<void> {
    const hash = ref.$attachment;
    for (let t = this.transfers.get(hash); t; t = this.transfers.get(hash)) await t.catch(() => undefined);
    if (await this.has(ref)) return;
    const done = this.store(ref, source).finally(() => this.transfers.delete(hash));
    this.transfers.set(hash, done);
    return done;
  }

  private async store(ref: AttachmentRef, source: Source): Promise<void> {
    const hash = ref.$attachment;
    const pieced = ref.size > ATTACHMENT_PIECE_BYTES;
    const hasher = sha256.create();
    // Resume after the whole pieces an earlier transfer stored (their bytes go into the hash).
    let stored = 0;
    if (pieced && typeof source === 'function') {
      for (;;) {
        const piece = await this.storage.getAttachment(`${hash}.${stored}`);
        if (!piece || piece.length !== ATTACHMENT_PIECE_BYTES) break;
        hasher.update(piece);
        stored++;
      }
    }
    let received = stored * ATTACHMENT_PIECE_BYTES;
    // The piece being filled: the whole attachment when it is small.
    let buffer = new Uint8Array(Math.min(ref.size - received, ATTACHMENT_PIECE_BYTES));
    let filled = 0;
    const stream = typeof source === 'function' ? source(received) : source;
    for await (const chunk of stream) {
      if (received + chunk.length > ref.size)
        await this.refuse(ref, stored, `more than its ${ref.size} bytes`);
      for (let at = 0; at < chunk.length; ) {
        const n = Math.min(chunk.length - at, buffer.length - filled);
        buffer.set(chunk.subarray(at, at + n), filled);
        filled += n;
        received += n;
        at += n;
        if (pieced && filled === buffer.length) {
          hasher.update(buffer);
          // Deleted first: a piece is written once, and one left by a refused transfer may be there.
          await this.storage.deleteAttachment(`${hash}.${stored}`);
          await this.storage.putAttachment(`${hash}.${stored}`, buffer);
          stored++;
          buffer = new Uint8Array(Math.min(ref.size - received, ATTACHMENT_PIECE_BYTES));
          filled = 0;
        }
      }
    }
    if (received !== ref.size)
      throw new DbError('UNAVAILABLE', `attachment ${hash}: ${received} of its ${ref.size} bytes arrived`);
    if (!pieced) hasher.update(buffer);
    if (hex(hasher.digest()) !== hash) await this.refuse(ref, stored, 'bytes that do not match its hash');
    if (pieced)
      await this.storage.putAttachment(
        `${hash}.pieces`,
        utf8.encode(JSON.stringify({ size: ref.size, pieces: stored })),
      );
    else await this.storage.putAttachment(hash, buffer);
  }

  /** Drops the pieces stored of a transfer that failed its checks, and says why. */
  private async refuse(ref: AttachmentRef, pieces: number, why: string): Promise<never> {
    for (let n = 0; n <= pieces; n++) await this.storage.deleteAttachment(`${ref.$attachment}.${n}`);
    throw new DbError('BAD_ATTACHMENT', `attachment ${ref.$attachment} refused: ${why}`);
  }

  /** True once this replica holds the attachment, fetching it if it can; one fetch per hash at a time. */
  private async ensure(ref: AttachmentRef): Promise<boolean> {
    if (await this.has(ref)) return true;
    const fetcher = this.current;
    if (!fetcher) return false;
    await this.transfer(ref, (offset) => fetcher(ref, offset));
    return true;
  }
}
