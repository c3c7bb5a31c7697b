import type { Database, Doc } from '@concord/db';
import { isAttachmentRef } from '@concord/db';
import { gatherImages } from '@concord/labels';

/**
 * The images of `docs` (their `image` attachments) that the database holds or can fetch, as the
 * lookup `renderLabels` takes. One that cannot be had is left out, and its label says so.
 */
export function labelImages(
  db: Database,
  docs: readonly Doc[],
): Promise<(key: string) => Uint8Array | undefined> {
  return gatherImages(docs, async (ref) => (isAttachmentRef(ref) ? db.attachments.get(ref) : undefined));
}
