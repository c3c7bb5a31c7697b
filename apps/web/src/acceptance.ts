// The storage acceptance suite of packages/db, run against IndexedDB in this browser (the e2e
// test opens this page in Chromium and reads `window.acceptance`); IndexedDB defers, as SQLite.
import { DEFERRING_ACCEPTANCE, IndexedDbStorage, STORAGE_ACCEPTANCE } from '@concord/db';

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
document.getElementById('results')!.textContent = results
  .map((r) => `${r.ok ? 'ok  ' : 'FAIL'} ${r.name}${r.error ? `: ${r.error}` : ''}`)
  .join('\n');
window.acceptance = results;
