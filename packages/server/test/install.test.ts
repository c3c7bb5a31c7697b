import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Concord as a user installs it (issue 17): the packages built and packed (`npm pack`), the
 * tarballs installed into a fresh folder outside the repository, and there plain Node — no
 * TypeScript, no tsx — opens SQLite databases, starts the installed `concord` bin and syncs two
 * clients through it, then renders their shelf labels and counts them on two cluster nodes (`install/converge.mjs`). publint and arethetypeswrong check every package
 * as it would be published.
 */
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const PACKAGES = ['crdt', 'db', 'server', 'react', 'feed', 'labels', 'cluster'];
const dir = mkdtempSync(join(tmpdir(), 'concord-install-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (cmd: string, args: readonly string[], cwd: string) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });

describe('the packages as a user installs them', () => {
  const tarballs = join(dir, 'tarballs');
  const app = join(dir, 'app');

  it('build and pack; publint and arethetypeswrong pass for every package', () => {
    run('npx', ['tsc', '-b', 'tsconfig.build.json'], ROOT);
    mkdirSync(tarballs);
    run(
      'npm',
      ['pack', ...PACKAGES.flatMap((p) => ['-w', `packages/${p}`]), '--pack-destination', tarballs],
      ROOT,
    );
    expect(readdirSync(tarballs).sort()).toEqual(PACKAGES.map((p) => `concord-${p}-0.1.0.tgz`).sort());
    for (const p of PACKAGES) {
      expect(run('npx', ['--no-install', 'publint', `packages/${p}`], ROOT)).toContain('All good');
      // ESM only, as the packages are: CommonJS `require` is not offered.
      run(
        'npx',
        ['--no-install', 'attw', join(tarballs, `concord-${p}-0.1.0.tgz`), '--profile', 'esm-only'],
        ROOT,
      );
    }
    // Seven packages built, packed and checked one after another: about 50 s alone on a slow
    // night, past the default 60 s beside the other test files.
  }, 240_000);

  it('installed elsewhere, plain Node serves with the concord bin and two SQLite clients converge', () => {
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    // The SQLite driver is the one this repository's install built: building it again here
    // would compile C++ for a minute, and test nothing of Concord's.
    run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        '--ignore-scripts',
        // No React app here: @concord/react is checked above, and by the page that uses it.
        ...['crdt', 'db', 'feed', 'labels', 'server', 'cluster'].map((p) =>
          join(tarballs, `concord-${p}-0.1.0.tgz`),
        ),
        join(ROOT, 'node_modules/better-sqlite3'),
      ],
      app,
    );
    copyFileSync(
      fileURLToPath(new URL('./install/converge.mjs', import.meta.url)),
      join(app, 'converge.mjs'),
    );
    const { a, b, label, counted } = JSON.parse(run(process.execPath, ['converge.mjs'], app));
    expect(counted).toBe(5);
    expect(label).toEqual({ labels: 2, warnings: 0, pdf: '%PDF-' });
    expect(a).toEqual([
      { _id: 'from-a', text: 'written on a' },
      { _id: 'from-b', text: 'written on b' },
    ]);
    expect(b).toEqual(a);
  });
});
