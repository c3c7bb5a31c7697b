// @concord/labels in this browser: the fonts fetched as assets, labels rendered to a PDF here
// (the e2e test checks the PDF; the bench times `window.renderLabels`).
import { gtinCheckDigit, renderLabels, SHELF_STRIP } from '@concord/labels';
import { labelFonts } from './labelFonts.js';

export interface BrowserLabels {
  readonly ms: number;
  readonly labels: number;
  readonly warnings: number;
  /** The PDF, base64: the test reads its text with pdfjs-dist in Node. */
  readonly pdf: string;
}

declare global {
  interface Window {
    renderLabels?: (n: number) => Promise<BrowserLabels>;
  }
}

const fonts = await labelFonts();

/** `n` products of a retail catalogue, with valid EAN-13s. */
function products(n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => {
    const prefix = String(400000000000 + i * 7919).slice(0, 12);
    return {
      _id: `SKU-${i}`,
      sku: `SKU-${i}`,
      name: `Crème fraîche ${100 + (i % 900)}g`,
      brand: 'Laiterie Française',
      price: 0.99 + (i % 500) / 100,
      onSale: i % 10 === 0,
      salePrice: i % 10 === 0 ? 0.89 : null,
      barcode: prefix + gtinCheckDigit(prefix),
      aisle: 1 + (i % 40),
      validFrom: '2026-12-01',
    };
  });
}

window.renderLabels = async (n) => {
  const input = products(n);
  const start = performance.now();
  const out = await renderLabels(input, SHELF_STRIP, { fonts });
  const ms = performance.now() - start;
  let binary = '';
  for (const b of out.pdf) binary += String.fromCharCode(b);
  return { ms, labels: out.labels, warnings: out.warnings.length, pdf: btoa(binary) };
};
document.getElementById('results')!.textContent = 'ready: window.renderLabels(n)';
