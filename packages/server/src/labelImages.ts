import type { Database, Doc } from '@concord/db';
import { isAttachmentRef } from '@concord/db';

/**
 * The images of `docs` (their `image` attachments) that the database holds or can fetch, by
 * hash: labels render synchronously, so what they place is gathered first. One that cannot be
 * had is left out, and its label says so.
 */
export async function labelImages(db: Database, docs: readonly Doc[]): Promise<Map<string, Uint8Array>> {
  const images = new Map<string, Uint8Array>();
  for (const doc of docs) {
    const ref = doc.image;
    if (!isAttachmentRef(ref) || images.has(ref.$attachment)) continue;
    const bytes = await db.attachments.get(ref).catch(() => undefined);
    if (bytes) images.set(ref.$attachment, bytes);
  }
  return images;
}
