// Loaded on the first print (a dynamic import): it carries pdfkit, fontkit and bwip-js, 1.5 MB
// the store view does not need to open.
import { type Database, type Doc, isAttachmentRef } from '@concord/db';
import { builtInTemplate, gatherImages, type RenderedLabels, renderLabels } from '@concord/labels';
import { labelFonts } from './labelFonts.js';

/** `products`' labels with a built-in template, rendered to a PDF in this browser from the replica alone. */
export async function labelsPdf(
  db: Database,
  products: readonly Doc[],
  template: string,
): Promise<RenderedLabels> {
  const images = await gatherImages(products, async (ref) =>
    isAttachmentRef(ref) ? db.attachments.get(ref) : undefined,
  );
  return renderLabels(products, builtInTemplate(template), { fonts: await labelFonts(), images });
}
