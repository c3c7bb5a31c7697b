import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root (where `node_modules` resolves every workspace package). */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The ```ts blocks of a README (path from the repository's root): its examples. */
export function readmeExamples(readme: string): string[] {
  const text = readFileSync(join(ROOT, readme), 'utf8');
  return [...text.matchAll(/```tsx?\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/**
 * Runs one README example as a module with Node (the packages' TypeScript sources, as the tests
 * use them), in a scratch folder of its own so the files it writes go nowhere; throws with its
 * stderr if it fails — an exception, or an `assert` that does not hold.
 */
export function runExample(code: string, name: string): void {
  const scratch = join(ROOT, 'node_modules/.cache/concord-readme');
  mkdirSync(scratch, { recursive: true });
  // .mts: an ES module (top-level await), whatever the folder says.
  const file = join(scratch, `${name}.mts`);
  writeFileSync(file, code);
  const cwd = mkdtempSync(join(tmpdir(), 'concord-readme-'));
  try {
    // tsx as this repository installed it: the example runs in a folder of its own.
    execFileSync(process.execPath, ['--conditions=source', '--import', import.meta.resolve('tsx'), file], {
      cwd,
      stdio: 'pipe',
      encoding: 'utf8',
      // An example that never ends fails, rather than hanging the suite.
      timeout: 120_000,
    });
  } catch (e) {
    const stderr = String((e as { stderr?: string }).stderr ?? e).replace(/sourceMappingURL=\S+/g, '');
    throw new Error(`README example ${name} failed:\n${stderr}`);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

/**
 * Writes one README example where the test runner transforms it as it does the tests (inside the
 * repository, outside `node_modules`; `.cache/` is ignored by git and the linter), for a test to
 * `import()` in its own environment — a browser-like one for a React example. Returns the path
 * and a cleanup.
 */
export function exampleModule(code: string, file: string): { path: string; remove: () => void } {
  const dir = join(ROOT, '.cache/readme');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, file);
  writeFileSync(path, code);
  return { path, remove: () => rmSync(path, { force: true }) };
}
