/**
 * A label template is data: a sheet, a label size, and elements placed on the label in
 * millimetres. A retailer adds its own as JSON, without code. `checkTemplate` says what is wrong
 * with one before anything is drawn.
 */

/** When an element is drawn: always, or only for products on sale or not on sale. */
export type Condition = 'always' | 'onSale' | 'notOnSale';

interface Placed {
  /** Millimetres from the label's left and top edges. */
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly when?: Condition;
}

/**
 * Text with placeholders: `{name}`, `{brand}`, `{price}`, `{regularPrice}`, `{unitPrice}`,
 * `{sku}`, `{barcode}`, `{aisle}`, `{validFrom}`, or any other product property by name.
 * It is shrunk, down to `minSize`, to fit `lines` lines; what still does not fit is cut with an
 * ellipsis and reported.
 */
export interface TextElement extends Placed {
  readonly type: 'text';
  readonly text: string;
  /** Points. */
  readonly size: number;
  readonly minSize?: number;
  readonly lines?: number;
  readonly bold?: boolean;
  readonly align?: 'left' | 'center' | 'right';
  /** `#rrggbb`. */
  readonly color?: string;
  /** The colour instead of `color` when the product is on sale: one price element, red on sale. */
  readonly saleColor?: string;
  /** A line through it: the regular price beside a sale price. */
  readonly strike?: boolean;
}

/** The product's EAN-13 or UPC-A, bars and digits, fitted to the box. */
export interface BarcodeElement extends Placed {
  readonly type: 'barcode';
}

/** The product's image (an attachment's bytes, PNG or JPEG), fitted to the box. */
export interface ImageElement extends Placed {
  readonly type: 'image';
}

/** A filled or outlined rectangle: a band behind "SALE", a frame. */
export interface BoxElement extends Placed {
  readonly type: 'box';
  readonly fill?: string;
  readonly stroke?: string;
}

export type LabelElement = TextElement | BarcodeElement | ImageElement | BoxElement;

export interface LabelTemplate {
  readonly name: string;
  /** The sheet labels are laid out on, N-up, in millimetres: A4 is 210 × 297. */
  readonly sheet: {
    readonly width: number;
    readonly height: number;
    readonly marginTop: number;
    readonly marginLeft: number;
    /** Between columns and between rows. */
    readonly gapX?: number;
    readonly gapY?: number;
  };
  readonly label: { readonly width: number; readonly height: number; readonly border?: boolean };
  readonly elements: readonly LabelElement[];
}

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
  constructor(
    readonly code: 'BAD_TEMPLATE' | 'LABEL_TOO_LARGE' | 'ELEMENT_OUTSIDE',
    message: string,
  ) {
    super(message);
  }
}

/** How labels sit on a sheet. */
export interface SheetLayout {
  readonly columns: number;
  readonly rows: number;
  readonly perSheet: number;
}

const COLOR = /^#[0-9a-f]{6}$/i;
const TYPES = new Set(['text', 'barcode', 'image', 'box']);
const CONDITIONS = new Set(['always', 'onSale', 'notOnSale']);

const positive = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n > 0;
const nonNegative = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0;

/**
 * Checks a template (it may come from JSON) and gives its layout: a `TemplateError` for a value
 * of the wrong kind, a label larger than the sheet, or an element outside its label.
 */
export function checkTemplate(t: LabelTemplate): SheetLayout {
  const bad = (what: string): never => {
    throw new TemplateError('BAD_TEMPLATE', `template ${JSON.stringify(t?.name)}: ${what}`);
  };
  if (typeof t !== 'object' || t === null) bad('not an object');
  if (typeof t.name !== 'string' || t.name === '') bad('no name');
  const { sheet, label } = t;
  if (!sheet || !positive(sheet.width) || !positive(sheet.height))
    bad('sheet width and height must be positive');
  if (!nonNegative(sheet.marginTop) || !nonNegative(sheet.marginLeft)) bad('sheet margins must be 0 or more');
  if (!nonNegative(sheet.gapX ?? 0) || !nonNegative(sheet.gapY ?? 0)) bad('gaps must be 0 or more');
  if (!label || !positive(label.width) || !positive(label.height))
    bad('label width and height must be positive');
  if (!Array.isArray(t.elements)) bad('elements must be an array');
  const gapX = sheet.gapX ?? 0;
  const gapY = sheet.gapY ?? 0;
  const columns = Math.floor((sheet.width - sheet.marginLeft + gapX + 1e-9) / (label.width + gapX));
  const rows = Math.floor((sheet.height - sheet.marginTop + gapY + 1e-9) / (label.height + gapY));
  if (columns < 1 || rows < 1)
    throw new TemplateError(
      'LABEL_TOO_LARGE',
      `template ${t.name}: a ${label.width} × ${label.height} mm label does not fit on a ${sheet.width} × ${sheet.height} mm sheet`,
    );
  t.elements.forEach((e, i) => {
    const at = `element ${i}`;
    if (typeof e !== 'object' || e === null || !TYPES.has(e.type))
      bad(`${at}: type must be text, barcode, image or box`);
    if (!nonNegative(e.x) || !nonNegative(e.y) || !positive(e.width) || !positive(e.height))
      bad(`${at}: x and y must be 0 or more, width and height positive`);
    if (e.when !== undefined && !CONDITIONS.has(e.when))
      bad(`${at}: when must be always, onSale or notOnSale`);
    if (e.x + e.width > label.width + 1e-9 || e.y + e.height > label.height + 1e-9)
      throw new TemplateError(
        'ELEMENT_OUTSIDE',
        `template ${t.name}: ${at} (${e.type}) reaches ${e.x + e.width} × ${e.y + e.height} mm, outside the ${label.width} × ${label.height} mm label`,
      );
    if (e.type === 'text') {
      if (typeof e.text !== 'string') bad(`${at}: text must be a string`);
      if (!positive(e.size) || (e.minSize !== undefined && !positive(e.minSize)))
        bad(`${at}: size and minSize must be positive`);
      if (e.lines !== undefined && !(Number.isInteger(e.lines) && e.lines >= 1))
        bad(`${at}: lines must be 1 or more`);
      if (e.align !== undefined && !['left', 'center', 'right'].includes(e.align))
        bad(`${at}: align must be left, center or right`);
      for (const c of [e.color, e.saleColor])
        if (c !== undefined && !COLOR.test(c)) bad(`${at}: colours must be #rrggbb`);
    }
    if (e.type === 'box') {
      for (const c of [e.fill, e.stroke])
        if (c !== undefined && !COLOR.test(c)) bad(`${at}: colours must be #rrggbb`);
    }
  });
  return { columns, rows, perSheet: columns * rows };
}
