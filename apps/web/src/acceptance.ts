// The storage acceptance suite of packages/db, run against IndexedDB in this browser (the e2e
// test opens this page in Chromium and reads `window.acceptance`); IndexedDB defers, as SQLite.
// Then the inflation suite, which in a page runs in a worker.
import { DEFERRING_ACCEPTANCE, IndexedDbStorage, STORAGE_ACCEPTANCE } from '@concord/db';
import { INFLATE_ACCEPTANCE } from '@concord/db/internal';

export interface AcceptanceResult {
  readonly name: string;
  readonly ok: boolean;
  readonly error?: string;
}

declare global {
  interface Window {
    acceptance?: AcceptanceResult[];
  }
}

const results: AcceptanceResult[] = [];
const run = `${Date.now()}`;
for (const [i, c] of [...STORAGE_ACCEPTANCE, ...DEFERRING_ACCEPTANCE].entries()) {
  const name = `concord-acceptance-${run}-${i}`;
  try {
    await c.run(() => IndexedDbStorage.open(name));
    results.push({ name: c.name, ok: true });
  } catch (e) {
    results.push({ name: c.name, ok: false, error: String(e) });
  } finally {
    indexedDB.deleteDatabase(name);
  }
}
// Inflation beside the page's thread (a worker, as the sync client inflates chunks).
for (const c of INFLATE_ACCEPTANCE) {
  try {
    await c.run();
    results.push({ name: c.name, ok: true });
  } catch (e) {
    results.push({ name: c.name, ok: false, error: String(e) });
  }
}
document.getElementById('results')!.textContent = results
  .map((r) => `${r.ok ? 'ok  ' : 'FAIL'} ${r.name}${r.error ? `: ${r.error}` : ''}`)
  .join('\n');
window.acceptance = results;
