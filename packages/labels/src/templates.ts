import { type LabelTemplate, TemplateError } from './Template.js';

const A4 = { width: 210, height: 297 };
const RED = '#d0021b';

/**
 * A shelf-edge strip label, 63.5 × 38.1 mm, 21 to an A4 sheet (3 × 7, the common L7160 stock):
 * brand, name, price large (red on sale, the regular price struck through beside it), unit
 * price, barcode, SKU, aisle and the date the price is valid from.
 */
export const SHELF_STRIP: LabelTemplate = {
  name: 'shelf-strip',
  sheet: { ...A4, marginTop: 15.15, marginLeft: 7.2, gapX: 2.5, gapY: 0 },
  label: { width: 63.5, height: 38.1, border: true },
  elements: [
    { type: 'box', x: 44, y: 1.5, width: 18, height: 5, fill: RED, when: 'onSale' },
    {
      type: 'text',
      text: 'SALE',
      x: 44,
      y: 2.2,
      width: 18,
      height: 4,
      size: 8,
      bold: true,
      align: 'center',
      color: '#ffffff',
      when: 'onSale',
    },
    { type: 'text', text: '{brand}', x: 2, y: 2, width: 41, height: 4, size: 7, minSize: 5 },
    {
      type: 'text',
      text: '{name}',
      x: 2,
      y: 6.5,
      width: 59.5,
      height: 8.5,
      size: 9,
      minSize: 6,
      lines: 2,
      bold: true,
    },
    {
      type: 'text',
      text: '{price}',
      x: 26,
      y: 16,
      width: 35.5,
      height: 10,
      size: 24,
      minSize: 14,
      bold: true,
      align: 'right',
      saleColor: RED,
    },
    {
      type: 'text',
      text: '{regularPrice}',
      x: 2,
      y: 16.5,
      width: 24,
      height: 4,
      size: 8,
      minSize: 6,
      strike: true,
      when: 'onSale',
    },
    { type: 'text', text: '{unitPrice}', x: 2, y: 21.5, width: 24, height: 3.5, size: 6.5, minSize: 5 },
    { type: 'barcode', x: 2, y: 26, width: 29, height: 11 },
    {
      type: 'text',
      text: 'SKU {sku}',
      x: 32,
      y: 27.5,
      width: 29.5,
      height: 3,
      size: 5.5,
      minSize: 4.5,
      align: 'right',
    },
    {
      type: 'text',
      text: 'Aisle {aisle}',
      x: 32,
      y: 30.5,
      width: 29.5,
      height: 3,
      size: 5.5,
      minSize: 4.5,
      align: 'right',
    },
    {
      type: 'text',
      text: 'From {validFrom}',
      x: 32,
      y: 33.5,
      width: 29.5,
      height: 3,
      size: 5.5,
      minSize: 4.5,
      align: 'right',
    },
  ],
};

/**
 * A promotion sign, 190 × 133 mm, two to an A4 sheet: a red band, the name large, the sale price
 * very large beside the struck regular price, the product's image, unit price, validity, barcode.
 */
export const PROMO_SIGN: LabelTemplate = {
  name: 'promo-sign',
  sheet: { ...A4, marginTop: 10, marginLeft: 10, gapX: 0, gapY: 11 },
  label: { width: 190, height: 133, border: true },
  elements: [
    { type: 'box', x: 0, y: 0, width: 190, height: 20, fill: RED, when: 'onSale' },
    {
      type: 'text',
      text: 'SPECIAL OFFER',
      x: 5,
      y: 4,
      width: 180,
      height: 14,
      size: 30,
      bold: true,
      align: 'center',
      color: '#ffffff',
      when: 'onSale',
    },
    { type: 'box', x: 0, y: 0, width: 190, height: 20, fill: '#222222', when: 'notOnSale' },
    {
      type: 'text',
      text: 'OUR PRICE',
      x: 5,
      y: 4,
      width: 180,
      height: 14,
      size: 30,
      bold: true,
      align: 'center',
      color: '#ffffff',
      when: 'notOnSale',
    },
    { type: 'text', text: '{brand}', x: 5, y: 24, width: 130, height: 7, size: 14, minSize: 10 },
    {
      type: 'text',
      text: '{name}',
      x: 5,
      y: 32,
      width: 130,
      height: 26,
      size: 26,
      minSize: 14,
      lines: 2,
      bold: true,
    },
    { type: 'image', x: 140, y: 24, width: 45, height: 36 },
    {
      type: 'text',
      text: '{regularPrice}',
      x: 5,
      y: 68,
      width: 55,
      height: 12,
      size: 24,
      minSize: 14,
      strike: true,
      when: 'onSale',
    },
    {
      type: 'text',
      text: '{price}',
      x: 60,
      y: 62,
      width: 125,
      height: 32,
      size: 80,
      minSize: 40,
      bold: true,
      align: 'right',
      saleColor: RED,
    },
    { type: 'text', text: '{unitPrice}', x: 5, y: 84, width: 55, height: 7, size: 12, minSize: 8 },
    {
      type: 'text',
      text: 'SKU {sku} · Aisle {aisle}',
      x: 5,
      y: 110,
      width: 100,
      height: 6,
      size: 10,
      minSize: 7,
    },
    {
      type: 'text',
      text: 'Valid from {validFrom}',
      x: 5,
      y: 118,
      width: 100,
      height: 7,
      size: 12,
      minSize: 8,
    },
    { type: 'barcode', x: 140, y: 110, width: 45, height: 18 },
  ],
};

/** The built-in templates, by name. */
export const TEMPLATES: Readonly<Record<string, LabelTemplate>> = {
  [SHELF_STRIP.name]: SHELF_STRIP,
  [PROMO_SIGN.name]: PROMO_SIGN,
};

/** The built-in template of that name: `TemplateError BAD_TEMPLATE` naming the built-ins if there is none. */
export function builtInTemplate(name: string): LabelTemplate {
  if (Object.hasOwn(TEMPLATES, name)) return TEMPLATES[name]!;
  throw new TemplateError(
    'BAD_TEMPLATE',
    `no template ${JSON.stringify(name)}; built in: ${Object.keys(TEMPLATES).join(', ')}`,
  );
}
