import { imageKey, type LabelFields } from './LabelData.js';

/**
 * The images `products` place, fetched before rendering (labels render synchronously), as the
 * lookup `renderLabels` takes. `load` gets a product's image property as stored (an attachment
 * reference, say) and answers its bytes, or undefined — or throws — to leave it out; its label
 * then says so. Each image is loaded once however many products share it.
 */
export async function gatherImages(
  products: ReadonlyArray<Readonly<Record<string, unknown>>>,
  load: (image: unknown) => Promise<Uint8Array | undefined>,
  fields: LabelFields = {},
): Promise<(key: string) => Uint8Array | undefined> {
  const images = new Map<string, Uint8Array | undefined>();
  for (const p of products) {
    const image = p[fields.image ?? 'image'];
    const key = imageKey(image);
    if (key === undefined || images.has(key)) continue;
    images.set(key, await load(image).catch(() => undefined));
  }
  return (key) => images.get(key);
}
