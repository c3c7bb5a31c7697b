import { DbError } from './errors.js';
import type { Storage } from './storage/Storage.js';
import type { AttachmentRef } from './values.js';

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes.slice()));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/** Fetches bytes this replica lacks from a peer (the sync layer installs one). */
export type AttachmentFetcher = (ref: AttachmentRef) => Promise<Uint8Array | undefined>;

/**
 * Content-addressed bytes (seed 001's attachments): stored once under their SHA-256, referenced
 * from a document by an `AttachmentRef` in a register. A replica that has the document but not
 * the bytes fetches them on first read through the fetcher, and checks the hash.
 */
export class Attachments {
  private fetcher: AttachmentFetcher | undefined;

  constructor(private readonly storage: Storage) {}

  async put(bytes: Uint8Array, type = 'application/octet-stream'): Promise<AttachmentRef> {
    const hash = await sha256(bytes);
    await this.storage.putAttachment(hash, bytes);
    return { $attachment: hash, size: bytes.length, type };
  }

  /** The bytes, from storage or else from the fetcher; undefined if neither has them. */
  async get(ref: AttachmentRef): Promise<Uint8Array | undefined> {
    const local = await this.storage.getAttachment(ref.$attachment);
    if (local || !this.fetcher) return local;
    const fetched = await this.fetcher(ref);
    if (!fetched) return undefined;
    if ((await sha256(fetched)) !== ref.$attachment)
      throw new DbError('BAD_CHANGE', `attachment ${ref.$attachment} fetched with the wrong content`);
    await this.storage.putAttachment(ref.$attachment, fetched);
    return fetched;
  }

  setFetcher(fetcher: AttachmentFetcher | undefined): void {
    this.fetcher = fetcher;
  }
}
