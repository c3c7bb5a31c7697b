// Child process of the labels suite: `labels-browser-worker.ts <n> <runs>` builds the page
// (apps/web, whose labels.html renders with @concord/labels), serves it, and times rendering n
// shelf labels in Debian's Chromium: in a fresh page (the first render: fonts parsed, code
// compiled) and then again (the median of `runs`). Prints JSON lines.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requireChromium } from '@concord/testkit';
import { chromium } from 'playwright-core';
import sirv from 'sirv';
import { buildWebPage, median, type Result } from './harness.js';

declare global {
  interface Window {
    /** apps/web/src/labelsInBrowser.ts */
    renderLabels?: (n: number) => Promise<{ ms: number; labels: number; warnings: number; pdf: string }>;
  }
}

const [n, runs] = process.argv.slice(2).map(Number) as [number, number];
const assets = sirv(buildWebPage());
const server = createServer((req, res) =>
  assets(req, res, () => {
    res.statusCode = 404;
    res.end();
  }),
);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const browser = await chromium.launch({
  executablePath: requireChromium(),
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/labels.html`);
  await page.waitForFunction(() => window.renderLabels !== undefined, undefined, { timeout: 60_000 });
  const render = async () => {
    const out = await page.evaluate((count) => window.renderLabels!(count), n);
    if (out.labels !== n || out.warnings !== 0)
      throw new Error(`rendered ${out.labels} labels, ${out.warnings} warnings`);
    return out.ms;
  };
  const first = await render();
  const again: number[] = [];
  for (let i = 0; i < runs; i++) again.push(await render());
  const suite = 'labels/shelf-strip';
  const results: Result[] = [
    { suite, system: 'concord-chromium', metric: `first ${n} ms`, value: first },
    { suite, system: 'concord-chromium', metric: `ms for ${n}`, value: median(again) },
    { suite, system: 'concord-chromium', metric: 'labels/s', value: (n / median(again)) * 1000 },
  ];
  for (const r of results) console.log(JSON.stringify(r));
} finally {
  await browser.close();
  server.close();
}
