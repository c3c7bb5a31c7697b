// The page end to end, in Debian's Chromium driven by playwright-core: a real sync server
// (SQLite file, WebSockets on loopback) serving the built page, pages with their own IndexedDB
// replicas. Screenshots go to test-output/e2e/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Database, DEFERRING_ACCEPTANCE, STORAGE_ACCEPTANCE } from '@concord/db';
import { INFLATE_ACCEPTANCE } from '@concord/db/internal';
import { SqliteStorage } from '@concord/db/sqlite';
import { HttpServer, SyncServer, seedDemo } from '@concord/server';
import { pdfText, requireChromium } from '@concord/testkit';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const WEB = fileURLToPath(new URL('..', import.meta.url));
const SHOTS = fileURLToPath(new URL('../../../test-output/e2e/', import.meta.url));

let browser: Browser;
let server: HttpServer;
let db: Database;
let dir: string;

beforeAll(async () => {
  requireChromium();
  // Built as `npm start` builds it: for production (vitest's NODE_ENV would pick React's development build).
  execFileSync('npm', ['run', 'build', '--silent', '--workspace', '@concord/web'], {
    cwd: WEB,
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: 'inherit',
  });
  dir = mkdtempSync(join(tmpdir(), 'concord-e2e-'));
  db = await Database.open({ storage: await SqliteStorage.open(join(dir, 'server.db')) });
  server = await HttpServer.listen({ sync: new SyncServer({ db }), port: 0, web: join(WEB, 'dist') });
  browser = await chromium.launch({
    executablePath: requireChromium(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
  mkdirSync(SHOTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The value page shows for `key`, once it equals `value`. */
async function shows(page: Page, key: string, value: string): Promise<void> {
  await page.waitForFunction(
    ([k, v]) => document.querySelector(`[data-key="${k}"] [data-testid="kv-value"]`)?.textContent === v,
    [key, value],
  );
}

async function status(page: Page, s: string): Promise<void> {
  await page.locator(`[data-testid="status"][data-status="${s}"]`).waitFor();
}

async function add(page: Page, key: string, value: string): Promise<void> {
  await page.getByTestId('new-key').fill(key);
  await page.getByTestId('new-value').fill(value);
  await page.getByTestId('add').click();
  await shows(page, key, value);
}

async function edit(page: Page, key: string, value: string): Promise<void> {
  await page.locator(`[data-key="${key}"] [data-testid="kv-edit"]`).click();
  await page.getByTestId('kv-edit-input').fill(value);
  await page.getByTestId('kv-save').click();
  await shows(page, key, value);
}

async function setOnline(page: Page, online: boolean): Promise<void> {
  await page.getByTestId('toggle-online').click();
  await status(page, online ? 'live' : 'offline');
}

describe('the web page in Chromium', () => {
  it('passes the storage acceptance suites against IndexedDB', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/acceptance.html`);
    await page.waitForFunction(() => window.acceptance !== undefined, undefined, { timeout: 60_000 });
    const results = await page.evaluate(() => window.acceptance!);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.map((r) => r.name)).toEqual(
      [...STORAGE_ACCEPTANCE, ...DEFERRING_ACCEPTANCE, ...INFLATE_ACCEPTANCE].map((c) => c.name),
    );
    await page.close();
  }, 90_000);

  it('renders shelf labels with @concord/labels in the browser', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/labels.html`);
    await page.waitForFunction(() => window.renderLabels !== undefined, undefined, { timeout: 60_000 });
    const out = await page.evaluate(() => window.renderLabels!(30));
    expect(out).toMatchObject({ labels: 30, warnings: 0 });
    const pages = await pdfText(new Uint8Array(Buffer.from(out.pdf, 'base64')));
    expect(pages).toHaveLength(2);
    expect(pages[0]).toContain('Crème fraîche 100g');
    expect(pages[0]).toContain('Laiterie Française');
    expect(pages[0]).toContain('€0.89');
    expect(pages[0]).toContain('€9.90/kg');
    await page.close();
  }, 90_000);

  it('two pages edit live; offline edits survive a reload and merge; a concurrent edit has one winner everywhere', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const a = await context.newPage();
    const b = await context.newPage();
    for (const page of [a, b]) {
      await page.goto(server.url);
      await status(page, 'live');
    }
    await a.locator('[data-testid="kv-empty"]').waitFor();
    await a.screenshot({ path: join(SHOTS, 'editor-empty.png') });

    // A adds and edits; B sees it live.
    await add(a, 'milk', '1.99');
    await add(a, 'bread', 'Rye');
    await add(a, 'tags', '["dairy","fresh"]');
    await shows(b, 'milk', '1.99');
    await shows(b, 'tags', '["dairy","fresh"]');
    expect(await b.locator('[data-key="tags"] .badge').textContent()).toBe('array');
    await edit(a, 'milk', '2.09');
    await shows(b, 'milk', '2.09');

    // B goes offline and edits; the edits are kept in its IndexedDB through a reload.
    await setOnline(b, false);
    await edit(b, 'bread', 'Sourdough');
    await add(b, 'eggs', '12');
    await b.getByTestId('pending').waitFor();
    await edit(a, 'milk', '2.19');
    await b.reload();
    await status(b, 'offline');
    await shows(b, 'bread', 'Sourdough');
    await shows(b, 'eggs', '12');
    await shows(b, 'milk', '2.09');
    await b.screenshot({ path: join(SHOTS, 'editor-offline.png') });
    expect(await a.locator('[data-key="eggs"]').count()).toBe(0);
    await shows(a, 'bread', 'Rye');

    // Back online: both pages show the merged state.
    await setOnline(b, true);
    for (const page of [a, b]) {
      await shows(page, 'milk', '2.19');
      await shows(page, 'bread', 'Sourdough');
      await shows(page, 'eggs', '12');
    }
    await b.getByTestId('pending').waitFor({ state: 'detached' });

    // The same key edited on both while apart: one winner on both pages, the loser on hover.
    await setOnline(a, false);
    await setOnline(b, false);
    await edit(a, 'milk', '2.49');
    await edit(b, 'milk', '2.39');
    await setOnline(a, true);
    await setOnline(b, true);
    const conflict = (page: Page) => page.locator('[data-key="milk"] [data-testid="kv-conflict"]');
    for (const page of [a, b]) await conflict(page).waitFor();
    const winner = await a.locator('[data-key="milk"] [data-testid="kv-value"]').textContent();
    expect(['2.49', '2.39']).toContain(winner);
    await shows(b, 'milk', winner!);
    const loser = winner === '2.49' ? '2.39' : '2.49';
    for (const page of [a, b]) {
      expect(await conflict(page).getAttribute('data-losers')).toBe(JSON.stringify([loser]));
      expect(await conflict(page).getAttribute('data-tip')).toContain(loser);
    }
    expect(await server.sync.db.collection('kv').get('milk')).toMatchObject({ value: Number(winner) });
    await conflict(a).hover();
    await a.screenshot({ path: join(SHOTS, 'editor-conflict.png') });

    // The inspector: this replica, both peers — two tabs of one browser are two replicas, each
    // with its own IndexedDB database — and the recent changes with dots and HLC times.
    await a.getByTestId('tab-Inspector').click();
    await a.waitForFunction(() => document.querySelectorAll('[data-testid="peers"] li').length === 2);
    expect(await a.getByTestId('replica-id').textContent()).toMatch(/^[0-9a-f]{32}$/);
    expect(await a.locator('[data-testid="recent"] tbody tr').count()).toBeGreaterThan(3);
    await a.screenshot({ path: join(SHOTS, 'inspector.png'), fullPage: true });
    await context.close();
  }, 120_000);

  it('browses any collection with each field’s CRDT; the layout holds at a phone’s width', async () => {
    await seedDemo(`ws://127.0.0.1:${server.port}/sync`);
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/#Collections`);
    await status(page, 'live');
    await page.locator('[data-testid="collection"][data-name="products"]').click();
    await page.locator('[data-testid="document"]').first().click();
    await page.locator('[data-testid="field"][data-path="stock"]').waitFor();
    const kind = (path: string) =>
      page.locator(`[data-testid="field"][data-path="${path}"] .badge`).textContent();
    expect(await kind('stock')).toBe('counter');
    expect(await kind('description')).toBe('text');
    expect(await kind('price')).toBe('register');
    await page.screenshot({ path: join(SHOTS, 'collections.png'), fullPage: true });

    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
    const small = await phone.newPage();
    await small.goto(server.url);
    await status(small, 'live');
    await shows(small, 'greeting', 'Hello from Concord');
    const overflow = await small.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    expect(overflow).toBe(false);
    await small.screenshot({ path: join(SHOTS, 'editor-phone.png'), fullPage: true });
    await phone.close();
    await context.close();
  }, 120_000);

  it('retail: a store offline keeps printing; back online its queue holds exactly the three repriced products', async () => {
    await seedDemo(`ws://127.0.0.1:${server.port}/sync`);
    const office = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const device = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const hq = await office.newPage();
    await hq.goto(`${server.url}/#Head%20office`);
    await status(hq, 'live');
    const compliance = (store: string) => hq.locator(`[data-testid="compliance"][data-store="${store}"]`);
    await hq.waitForFunction(
      () => document.querySelector('[data-store="s1"]')?.getAttribute('data-queued') === '24',
    );
    // This server ingests no feed (no NATS): the head office is told so, not left waiting.
    await hq.getByTestId('feed-file').setInputFiles({
      name: 'hourly.jsonl',
      mimeType: 'application/x-ndjson',
      buffer: Buffer.from(`${JSON.stringify({ _id: 'sku-0001', price: 1 })}\n`),
    });
    await hq.getByTestId('feed-publish').click();
    expect(await hq.getByTestId('feed-error').textContent()).toContain('ingests no feed');

    // Store s1's device follows its own products (all 24); store s2's only the 12 it carries.
    const store = await device.newPage();
    await store.goto(`${server.url}/?store=s1`);
    await status(store, 'live');
    await queueCount(store, 24);
    expect(await store.getByTestId('store-name').textContent()).toContain('Lyon Part-Dieu');
    const s2 = await device.newPage();
    await s2.goto(`${server.url}/?store=s2`);
    await status(s2, 'live');
    await queueCount(s2, 12);
    await s2.getByTestId('search').fill('frozen');
    expect(await s2.getByTestId('search-summary').textContent()).toMatch(/^0 of 12 products/);
    await s2.close();

    // s1 prints every label; the head office sees it up to date.
    const first = await printQueue(store);
    expect(first).toContain('Milk 1l');
    expect(first).toContain('Crème fraîche 200g');
    expect(first).toContain('€4.49');
    await queueCount(store, 0);
    await compliance('s1').getByTestId('up-to-date').waitFor();

    // The store goes offline (its service worker holds the page by now); the head office
    // changes three prices.
    await store.waitForFunction(() => navigator.serviceWorker.controller !== null);
    await setOnline(store, false);
    await device.setOffline(true);
    const reprice = async (id: string, price: string) => {
      const row = hq.locator(`[data-testid="catalogue-item"][data-id="${id}"]`);
      await row.getByTestId('edit-price').click();
      await row.getByTestId('price-input').fill(price);
      await row.getByTestId('price-save').click();
      await row
        .getByTestId('price')
        .filter({ hasText: `€${price}` })
        .waitFor();
    };
    await reprice('sku-0001', '9.11');
    await reprice('sku-0002', '9.22');
    await reprice('sku-0003', '9.33');
    await hq.waitForFunction(
      () => document.querySelector('[data-store="s1"]')?.getAttribute('data-queued') === '3',
    );
    await hq.screenshot({ path: join(SHOTS, 'head-office.png'), fullPage: true });

    // Offline, the store searches and prints from its own replica: the old price.
    await store.getByTestId('search').fill('milk alpen');
    await store.locator('[data-testid="result"][data-id="sku-0001"]').waitFor();
    expect(await store.locator('[data-testid="result"]').count()).toBe(1);
    await store.locator('[data-testid="result"][data-id="sku-0001"]').getByTestId('print-one').click();
    const old = await pdfOf(store, 'Milk 1l');
    expect(old).toContain('€4.49');
    expect(old).not.toContain('€9.11');
    await queueCount(store, 0);
    // A reload with no network: the page from its service worker's cache; products, queue and
    // search from IndexedDB; printing still works.
    await store.reload();
    await status(store, 'offline');
    await queueCount(store, 0);
    await store.getByTestId('search').fill('creme fraiche');
    await store.locator('[data-testid="result"][data-id="sku-0004"]').waitFor();
    await store.locator('[data-testid="result"][data-id="sku-0004"]').getByTestId('print-one').click();
    expect(await pdfOf(store, 'Crème fraîche 200g')).toContain('Laiterie Française');
    await device.setOffline(false);

    // Back online: exactly the three repriced products wait; their labels print the new prices.
    await setOnline(store, true);
    await queueCount(store, 3);
    const queued = await store
      .locator('[data-testid="queue-item"]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
    expect(queued).toEqual(['sku-0001', 'sku-0002', 'sku-0003']);
    await store.getByTestId('search').fill('');
    // All 24 products match: a page of 20 shows, and "Show more" the other 4.
    await store
      .getByTestId('search-summary')
      .filter({ hasText: /^24 of 24 products/ })
      .waitFor();
    expect(await store.locator('[data-testid="result"]').count()).toBe(20);
    expect(await store.getByTestId('more-results').textContent()).toBe('Show 4 more');
    await store.getByTestId('more-results').click();
    await store.locator('[data-testid="result"]').nth(23).waitFor();
    expect(await store.locator('[data-testid="result"]').count()).toBe(24);
    expect(await store.getByTestId('more-results').count()).toBe(0);
    await store.screenshot({ path: join(SHOTS, 'store-queue.png'), fullPage: true });
    const reprinted = await printQueue(store);
    for (const price of ['€9.11', '€9.22', '€9.33']) expect(reprinted).toContain(price);
    expect(reprinted).not.toContain('€4.49');
    await queueCount(store, 0);
    await store.screenshot({ path: join(SHOTS, 'store-printed.png'), fullPage: true });

    // The head office sees the store up to date, from the records the store synced back.
    await compliance('s1').getByTestId('up-to-date').waitFor();
    const records = await server.sync.db.collection('printed').find({ where: { store: 's1' } });
    expect(records).toHaveLength(24);
    await hq.screenshot({ path: join(SHOTS, 'head-office-compliance.png'), fullPage: true });

    // A store's handheld: the store view fits a phone's width.
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
    const handheld = await phone.newPage();
    await handheld.goto(`${server.url}/?store=s2`);
    await status(handheld, 'live');
    await handheld.getByTestId('search').fill('bread');
    await handheld.locator('[data-testid="result"][data-id="sku-0005"]').waitFor();
    expect(await handheld.evaluate(() => document.documentElement.scrollWidth > window.innerWidth)).toBe(
      false,
    );
    await handheld.screenshot({ path: join(SHOTS, 'store-phone.png'), fullPage: true });
    await phone.close();
    await office.close();
    await device.close();
  }, 120_000);
});

async function queueCount(page: Page, n: number): Promise<void> {
  await page
    .locator(`[data-testid="queue-count"]`)
    .filter({ hasText: new RegExp(`^${n}$`) })
    .waitFor();
}

/** The text of the PDF the page shows once its summary holds `what`, page after page. */
async function pdfOf(page: Page, what: string): Promise<string> {
  await page.getByTestId('printout-summary').filter({ hasText: what }).waitFor();
  const base64 = await page.evaluate(async () => {
    const href = document.querySelector<HTMLAnchorElement>('[data-testid="pdf-link"]')!.href;
    const bytes = new Uint8Array(await (await fetch(href)).arrayBuffer());
    let binary = '';
    for (const b of bytes) binary += String.fromCharCode(b);
    return btoa(binary);
  });
  return (await pdfText(new Uint8Array(Buffer.from(base64, 'base64')))).join('\n');
}

/** Prints the store's queue; the PDF's text. */
async function printQueue(page: Page): Promise<string> {
  const n = Number(await page.getByTestId('queue-count').textContent());
  await page.getByTestId('print-queue').click();
  return pdfOf(page, `${n} label`);
}
