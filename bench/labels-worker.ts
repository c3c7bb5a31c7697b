// Child process of the labels suite: `labels-worker.ts <n> <runs>` renders n shelf labels (the
// retail catalogue, with valid barcodes) and prints JSON lines.
import { gtinCheckDigit, PROMO_SIGN, renderLabels, SHELF_STRIP } from '@concord/labels';
import { defaultFonts } from '@concord/labels/node';
import { median, type Result } from './harness.js';
import { catalogue } from './retail.suite.js';

const [n, runs] = process.argv.slice(2).map(Number) as [number, number];
const fonts = defaultFonts();
// The catalogue's barcodes are 13 digits without a valid check digit: make them real EAN-13s.
const products = catalogue(n).map((p) => {
  const prefix = p.barcode.slice(0, 12);
  return { ...p, barcode: prefix + gtinCheckDigit(prefix), validFrom: '2026-12-01' };
});
const results: Result[] = [];
for (const template of [SHELF_STRIP, PROMO_SIGN]) {
  const count = template === SHELF_STRIP ? n : Math.min(n, 200);
  const times: number[] = [];
  let bytes = 0;
  // One unmeasured run: the first compiles the renderer and parses the fonts.
  for (let run = 0; run <= runs; run++) {
    const start = performance.now();
    const out = await renderLabels(products.slice(0, count), template, { fonts });
    const ms = performance.now() - start;
    if (out.warnings.length > 0) throw new Error(`unexpected warnings: ${JSON.stringify(out.warnings[0])}`);
    if (run > 0) times.push(ms);
    bytes = out.pdf.length;
  }
  const suite = `labels/${template.name}`;
  results.push(
    { suite, system: 'concord', metric: 'labels/s', value: (count / median(times)) * 1000 },
    { suite, system: 'concord', metric: `ms for ${count}`, value: median(times) },
    { suite, system: 'concord', metric: 'PDF bytes per label', value: bytes / count },
  );
}
for (const r of results) console.log(JSON.stringify(r));
