import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';

// Documentation examples are executed: each ```ts block of the package README runs as a
// module, and its assertions must hold.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const readme = readFileSync(join(root, 'packages/crdt/README.md'), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const scratch = join(root, 'node_modules/.cache/concord-readme');

describe('packages/crdt/README.md', () => {
  it('has examples', () => {
    if (blocks.length < 3) throw new Error(`expected at least 3 examples, found ${blocks.length}`);
  });
  it.each(blocks.map((code, i) => [i + 1, code] as const))(
    'example %i runs and its assertions hold',
    (i, code) => {
      mkdirSync(scratch, { recursive: true });
      const file = join(scratch, `example-${i}.ts`);
      writeFileSync(file, code);
      try {
        execFileSync(process.execPath, ['--conditions=source', '--import', 'tsx', file], {
          cwd: root,
          stdio: 'pipe',
          encoding: 'utf8',
        });
      } catch (e) {
        const stderr = String((e as { stderr?: string }).stderr ?? e).replace(/sourceMappingURL=\S+/g, '');
        throw new Error(`README example ${i} failed:\n${stderr}`);
      }
    },
  );
});
