import { type Gtin, parseGtin } from './Gtin.js';
import { packSize, unitPrice } from './UnitPrice.js';

/** The product properties a label reads, each renamable (`LabelFields`). */
export type LabelField =
  | 'name'
  | 'brand'
  | 'price'
  | 'salePrice'
  | 'onSale'
  | 'barcode'
  | 'sku'
  | 'aisle'
  | 'size'
  | 'unit'
  | 'validFrom'
  | 'image';

/** Where each label field is in a product document, where its property has another name. */
export type LabelFields = Partial<Record<LabelField, string>>;

export type LabelWarningCode =
  | 'NOT_A_PRODUCT'
  | 'NO_PRICE'
  | 'BAD_SALE_PRICE'
  | 'BAD_BARCODE'
  | 'TEXT_TOO_LONG'
  | 'NO_IMAGE';

/** Something wrong with a product's label: the label is drawn, marked, and this says why. */
export interface LabelWarning {
  /** The product's `_id` (or its place in the list, `#3`, when it has none). */
  readonly product: string;
  readonly code: LabelWarningCode;
  readonly message: string;
}

/** Money and dates as the labels print them. */
export interface Formats {
  readonly money: (n: number) => string;
  readonly date: (d: Date) => string;
}

export function formats(locale: string, currency: string): Formats {
  const money = new Intl.NumberFormat(locale, { style: 'currency', currency });
  const date = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' });
  return { money: (n) => money.format(n), date: (d) => date.format(d) };
}

/** A product read for its label: the values placeholders stand for, and what is wrong with it. */
export interface LabelData {
  readonly id: string;
  readonly product: Readonly<Record<string, unknown>>;
  /** Placeholder values, formatted: `price`, `regularPrice`, `unitPrice`, `validFrom`, … */
  readonly values: ReadonlyMap<string, string>;
  readonly onSale: boolean;
  readonly gtin: Gtin;
  /**
   * The product's image, if it names one: an attachment's hash (its reference's `$attachment`,
   * as `@concord/db` stores it) or a string the caller's image lookup understands.
   */
  readonly image: string | undefined;
  readonly warnings: LabelWarning[];
}

const isPrice = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n > 0;

/** Reads `input` (a product document, or anything a caller passed instead) for its label. */
export function labelData(input: unknown, index: number, fields: LabelFields, f: Formats): LabelData {
  const product: Record<string, unknown> =
    typeof input === 'object' && input !== null && !Array.isArray(input)
      ? (input as Record<string, unknown>)
      : {};
  const id = typeof product._id === 'string' && product._id !== '' ? product._id : `#${index}`;
  const warnings: LabelWarning[] = [];
  const warn = (code: LabelWarningCode, message: string) => warnings.push({ product: id, code, message });
  if (product !== input) warn('NOT_A_PRODUCT', `item ${index} is not a product document`);
  const get = (field: LabelField) => product[fields[field] ?? field];

  const values = new Map<string, string>();
  for (const [k, v] of Object.entries(product)) {
    if (typeof v === 'string') values.set(k, v);
    else if (typeof v === 'number' || typeof v === 'boolean') values.set(k, String(v));
  }
  for (const field of ['name', 'brand', 'sku', 'aisle', 'barcode'] as const) {
    const v = get(field);
    values.set(field, typeof v === 'string' || typeof v === 'number' ? String(v) : '');
  }

  const price = get('price');
  const salePrice = get('salePrice');
  let onSale = false;
  if (!isPrice(price)) {
    warn(
      'NO_PRICE',
      price === undefined || price === null
        ? 'no price'
        : `price ${JSON.stringify(price)} is not a positive number`,
    );
    values.set('price', '—');
    values.set('regularPrice', '');
    values.set('unitPrice', '');
  } else {
    onSale = get('onSale') === true;
    if (onSale && !(isPrice(salePrice) && salePrice < price)) {
      warn('BAD_SALE_PRICE', `on sale at ${JSON.stringify(salePrice)}, which is not a price below ${price}`);
      onSale = false;
    }
    const shown = onSale ? (salePrice as number) : price;
    values.set('price', f.money(shown));
    values.set('regularPrice', onSale ? f.money(price) : '');
    const pack = packSize(get('size'), get('unit'), get('name'));
    values.set(
      'unitPrice',
      pack ? `${f.money(unitPrice(shown, pack))}/${pack.per === 'item' ? 'item' : pack.per}` : '',
    );
  }

  const validFrom = get('validFrom');
  const date =
    typeof validFrom === 'string' || typeof validFrom === 'number' ? new Date(validFrom) : undefined;
  values.set('validFrom', date && !Number.isNaN(date.getTime()) ? f.date(date) : '');

  const barcode = get('barcode');
  const gtin = parseGtin(barcode);
  if (!gtin.ok) warn('BAD_BARCODE', gtin.reason);

  const image = imageKey(get('image'));
  return {
    id,
    product,
    values,
    onSale,
    gtin,
    image,
    warnings,
  };
}

/** `text` with each `{key}` replaced by its value (empty when the product has none). */
export function fill(text: string, values: ReadonlyMap<string, string>): string {
  return text.replace(/\{([A-Za-z0-9_.$-]+)\}/g, (_, key: string) => values.get(key) ?? '');
}

/** The key a label's image is looked up by: a string as is, or an attachment reference's hash. */
export function imageKey(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'object' && v !== null) {
    const hash = (v as { $attachment?: unknown }).$attachment;
    if (typeof hash === 'string' && hash !== '') return hash;
  }
  return undefined;
}
