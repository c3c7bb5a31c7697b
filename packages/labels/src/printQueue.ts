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
  return products.filter((p) => labelChanged(p, printed.get(String(p._id)), fields));
}

/** Whether `product`'s label differs from the one printed with fingerprint `printed` (or none was). */
export function labelChanged(
  product: Readonly<Record<string, unknown>>,
  printed: string | undefined,
  fields: LabelFields = {},
): boolean {
  // Never printed: its label is due, with no fingerprint to compare (a store's first sync queues all).
  return printed === undefined || printed !== labelFingerprint(product, fields);
}

/** The collection where stores record what they printed; it syncs back to the head office. */
export const PRINTED = 'printed';

/** What a store printed of one product: one document per store and product, the latest print. */
export type PrintedLabel = {
  /** `<store>/<product>`: printing again replaces the record. */
  readonly _id: string;
  readonly store: string;
  readonly product: string;
  readonly fingerprint: string;
  /** ISO 8601. */
  readonly printedAt: string;
};

/** The records of `store` printing `products` at `printedAt` (ISO 8601). */
export function printedLabels(
  store: string,
  products: ReadonlyArray<Readonly<Record<string, unknown>>>,
  printedAt: string,
  fields: LabelFields = {},
): PrintedLabel[] {
  return products.map((p) => ({
    _id: `${store}/${String(p._id)}`,
    store,
    product: String(p._id),
    fingerprint: labelFingerprint(p, fields),
    printedAt,
  }));
}

/** A store's printed records as `printQueue` reads them: fingerprints by product id. */
export function printedFingerprints(
  records: ReadonlyArray<Readonly<Record<string, unknown>>>,
): Map<string, string> {
  return new Map(records.map((r) => [String(r.product), String(r.fingerprint)]));
}
