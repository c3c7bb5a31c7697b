import { createHash } from 'node:crypto';
import {
  checkTemplate,
  gtinCheckDigit,
  type LabelTemplate,
  PROMO_SIGN,
  renderLabels,
  SHELF_STRIP,
  TemplateError,
} from '@concord/labels';
import { defaultFonts } from '@concord/labels/node';
import { pdfText, strokeColours } from '@concord/testkit';
import bwipjs from 'bwip-js';
import { describe, expect, it } from 'vitest';

const fonts = defaultFonts();
const ean = (prefix: string) => prefix + gtinCheckDigit(prefix);

/** A product as the retail catalogue holds it. */
function product(i: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    _id: `sku-${i}`,
    sku: `SKU-${i}`,
    name: `Crème fraîche ${100 + i}g`,
    brand: 'Laiterie Française',
    price: 1.25 + i,
    barcode: ean(String(400638133390 + i)),
    aisle: 4,
    validFrom: '2026-12-01',
    ...extra,
  };
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('templates', () => {
  it('lay the built-in labels out N-up on A4', () => {
    expect(checkTemplate(SHELF_STRIP)).toEqual({ columns: 3, rows: 7, perSheet: 21 });
    expect(checkTemplate(PROMO_SIGN)).toEqual({ columns: 1, rows: 2, perSheet: 2 });
    for (const t of [SHELF_STRIP, PROMO_SIGN]) {
      for (const e of t.elements) {
        expect(e.x + e.width).toBeLessThanOrEqual(t.label.width);
        expect(e.y + e.height).toBeLessThanOrEqual(t.label.height);
      }
    }
  });

  it('refuse what cannot be laid out, with a code', () => {
    const code = (t: unknown) => {
      try {
        checkTemplate(t as LabelTemplate);
      } catch (e) {
        expect(e).toBeInstanceOf(TemplateError);
        return (e as TemplateError).code;
      }
      return 'accepted';
    };
    expect(code({ ...SHELF_STRIP, label: { width: 300, height: 20 } })).toBe('LABEL_TOO_LARGE');
    expect(
      code({ ...SHELF_STRIP, elements: [{ type: 'barcode', x: 40, y: 0, width: 30, height: 10 }] }),
    ).toBe('ELEMENT_OUTSIDE');
    expect(
      code({
        ...SHELF_STRIP,
        elements: [{ type: 'text', text: 'x', x: 0, y: 0, width: 5, height: 5, size: 8, color: 'red' }],
      }),
    ).toBe('BAD_TEMPLATE');
    expect(code({ ...SHELF_STRIP, elements: [{ type: 'video', x: 0, y: 0, width: 5, height: 5 }] })).toBe(
      'BAD_TEMPLATE',
    );
    expect(code({ ...SHELF_STRIP, sheet: { ...SHELF_STRIP.sheet, width: -1 } })).toBe('BAD_TEMPLATE');
    expect(code(null)).toBe('BAD_TEMPLATE');
  });

  it('are data: a template read from JSON renders', async () => {
    const custom = JSON.parse(
      JSON.stringify({
        name: 'price-only',
        sheet: { width: 100, height: 50, marginTop: 0, marginLeft: 0 },
        label: { width: 50, height: 25 },
        elements: [
          {
            type: 'text',
            text: '{name}: {price} ({colour})',
            x: 1,
            y: 1,
            width: 48,
            height: 20,
            size: 8,
            lines: 3,
          },
        ],
      }),
    ) as LabelTemplate;
    expect(checkTemplate(custom).perSheet).toBe(4);
    const out = await renderLabels([product(1, { colour: 'blue' })], custom, { fonts });
    expect(out.warnings).toEqual([]);
    expect((await pdfText(out.pdf))[0]).toContain('Crème fraîche 101g: €2.25 (blue)');
  });
});

describe('renderLabels', () => {
  it('prints names, prices, unit prices, sale prices, codes and dates the PDF text holds', async () => {
    const products = [
      product(0, { price: 1.245, name: 'Crème fraîche 500g' }),
      product(1, { onSale: true, salePrice: 1.99, price: 2.49 }),
      product(2, { price: 3, currency: 'x', name: 'Pâté £ 6 pack', size: 6, unit: 'pack' }),
    ];
    const out = await renderLabels(products, SHELF_STRIP, { fonts });
    expect(out.warnings).toEqual([]);
    expect(out.sheets).toBe(1);
    const [text] = await pdfText(out.pdf);
    for (const s of [
      'Crème fraîche 500g',
      'Laiterie Française',
      '€1.25',
      '€2.49/kg',
      'SALE',
      '€1.99',
      '€2.49',
      'Pâté £ 6 pack',
      '€0.50/item',
      'SKU SKU-1',
      'Aisle 4',
      'From 1 Dec 2026',
    ])
      expect(text).toContain(s);
    // The barcode's digits, as printed under its bars: 4 006381 333900.
    expect(text!.replace(/\s/g, '')).toContain('4006381333900');
  });

  it('gives the same bytes for the same products and template', async () => {
    const products = Array.from({ length: 30 }, (_, i) =>
      product(i, { onSale: i % 3 === 0, salePrice: 1 + i }),
    );
    const a = await renderLabels(products, SHELF_STRIP, { fonts });
    const b = await renderLabels(products, SHELF_STRIP, { fonts });
    expect(sha(a.pdf)).toBe(sha(b.pdf));
    expect(new TextDecoder('latin1').decode(a.pdf.subarray(0, 8))).toBe('%PDF-1.3');
    const changed = products.map((p, i) => (i === 3 ? product(3, { price: 9.99 }) : p));
    const c = await renderLabels(changed, SHELF_STRIP, { fonts });
    expect(sha(c.pdf)).not.toBe(sha(a.pdf));
    expect(a.sheets).toBe(2);
  });

  it('marks a bad product and lists why, never failing the sheet', async () => {
    const products: unknown[] = [
      product(0, { price: undefined }),
      product(1, { barcode: '4006381333932' }),
      product(2, {
        name: 'A product name far, far too long for a shelf edge label, even at the smallest size the template allows, which goes on and on',
      }),
      product(3, { onSale: true, salePrice: 99 }),
      'not a product',
      product(5),
    ];
    const out = await renderLabels(products, SHELF_STRIP, { fonts });
    expect(out.warnings.map((w) => [w.product, w.code])).toEqual([
      ['sku-0', 'NO_PRICE'],
      ['sku-1', 'BAD_BARCODE'],
      ['sku-2', 'TEXT_TOO_LONG'],
      ['sku-3', 'BAD_SALE_PRICE'],
      ['#4', 'NOT_A_PRODUCT'],
      ['#4', 'NO_PRICE'],
      ['#4', 'BAD_BARCODE'],
    ]);
    const [text] = await pdfText(out.pdf);
    expect(text).toContain('no valid barcode');
    expect(text).toContain('…');
    expect(text).toContain('Crème fraîche 105g');
    // The mark: a red frame, stroked in #d0021b, which no good label strokes.
    expect((await strokeColours(out.pdf))[0]).toContain('#d0021b');
    const good = await renderLabels([product(5), product(6, { onSale: true, salePrice: 1 })], SHELF_STRIP, {
      fonts,
    });
    expect(good.warnings).toEqual([]);
    expect((await strokeColours(good.pdf))[0]).not.toContain('#d0021b');
  });

  it('places the product image from its attachment, and says when it is not at hand', async () => {
    const png = new Uint8Array(await bwipjs.toBuffer({ bcid: 'qrcode', text: 'image' }));
    const hash = 'ab'.repeat(32);
    const withImage = product(1, { image: { $attachment: hash, size: png.length, type: 'image/png' } });
    const out = await renderLabels([withImage], PROMO_SIGN, {
      fonts,
      images: (key) => (key === hash ? png : undefined),
    });
    expect(out.warnings).toEqual([]);
    const without = await renderLabels([withImage], PROMO_SIGN, { fonts, images: () => undefined });
    expect(without.warnings.map((w) => w.code)).toEqual(['NO_IMAGE']);
    // The image is an XObject of the page only where it was at hand.
    const latin = (b: Uint8Array) => new TextDecoder('latin1').decode(b);
    expect(latin(out.pdf)).toContain('/Subtype /Image');
    expect(latin(without.pdf)).not.toContain('/Subtype /Image');
    const broken = await renderLabels([withImage], PROMO_SIGN, {
      fonts,
      images: () => new Uint8Array([1, 2, 3]),
    });
    expect(broken.warnings.map((w) => w.code)).toEqual(['NO_IMAGE']);
  });

  it('renders an empty list as one empty sheet', async () => {
    const out = await renderLabels([], SHELF_STRIP, { fonts });
    expect(out.labels).toBe(0);
    expect(await pdfText(out.pdf)).toEqual(['']);
  });
});
