import type { LabelFields } from './LabelData.js';

/** The product properties a printed label shows: when one changes, the label on the shelf is stale. */
const LABEL_FIELDS = [
  'name',
  'brand',
  'price',
  'salePrice',
  'onSale',
  'barcode',
  'sku',
  'aisle',
  'size',
  'unit',
  'validFrom',
] as const;

/**
 * What a product's label shows, as one string: two products (or one product at two times) with
 * equal fingerprints print the same label. Stores keep the fingerprint of what they printed.
 */
export function labelFingerprint(
  product: Readonly<Record<string, unknown>>,
  fields: LabelFields = {},
): string {
  return JSON.stringify(LABEL_FIELDS.map((f) => product[fields[f] ?? f] ?? null));
}

/**
 * A store's print queue: the products whose label changed since the store last printed it (or
 * that it never printed), given the fingerprints of what it printed, by product id. Other
 * changes (stock, say) put nothing in the queue.
 */
export function printQueue<P extends Readonly<Record<string, unknown>>>(
  products: readonly P[],
  printed: ReadonlyMap<string, string>,
  fields: LabelFields = {},
): P[] {
  return products.filter((p) => printed.get(String(p._id)) !== labelFingerprint(p, fields));
}
