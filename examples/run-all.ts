// `npm run examples`: runs every example and prints its output.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
for (const example of [
  'crdt/shopping-cart-orset.ts',
  'crdt/pn-counter.ts',
  'persistence/replicated-counter.ts',
  'cluster/container-power.ts',
  'store-sync.ts',
  'retail-feed.ts',
]) {
  console.log(`\n── examples/${example} ──`);
  process.stdout.write(
    execFileSync(process.execPath, ['--conditions=source', '--import', 'tsx', join(here, example)], {
      encoding: 'utf8',
    }),
  );
}
