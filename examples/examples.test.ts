import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const run = (file: string) =>
  execFileSync(process.execPath, ['--conditions=source', '--import', 'tsx', join(here, file)], {
    encoding: 'utf8',
  });

describe('examples', () => {
  it("crdt/shopping-cart-orset: in the cluster's store, removals win over what they saw, concurrent adds survive", () => {
    const out = run('crdt/shopping-cart-orset.ts');
    expect(out).toContain('phone while apart:   milk');
    expect(out).toMatch(/laptop while apart: +bread, coffee, eggs, milk/);
    expect(out).toMatch(/phone after merge: +bread, coffee, milk\n/);
    expect(out).toMatch(/laptop after merge: +bread, coffee, milk\n/);
    expect(out).toContain('converged: true');
  });

  it('crdt/pn-counter: every device ends at the same total', () => {
    const out = run('crdt/pn-counter.ts');
    expect(out).toContain('printer-1 alone: 150');
    expect(out).toContain('tablet    alone: -5');
    for (const d of ['printer-1', 'printer-2', 'tablet   ']) expect(out).toContain(`${d} after sync: 220`);
    expect(out).toMatch(/converged: true, total labels: 220/);
  });

  it('persistence/replicated-counter: three replicas write partitioned, heal and end equal', () => {
    const out = run('persistence/replicated-counter.ts');
    expect(out).toContain('hq       partitioned: 100');
    expect(out).toContain('store-1  partitioned: 25');
    expect(out).toContain('store-2  partitioned: 5');
    for (const r of ['hq      ', 'store-1 ', 'store-2 ']) expect(out).toContain(`${r} healed: 130`);
    expect(out).toContain('converged: true');
  });

  it('cluster/container-power: the core validates, the worker reacts, the client sees it', () => {
    const out = run('cluster/container-power.ts');
    expect(out).toContain('client sees: container/42 running on worker-1 (pid 4042)');
    expect(out).toContain('client sees: container/7 refused: needs 64 CPUs, has 8');
    const record = '{"cpus":2,"host":"worker-1","pid":4042,"power":"on","status":"running"}';
    for (const m of ['web       ', 'logic-core', 'worker-1  '])
      expect(out).toContain(`${m} container/42: ${record}`);
  });

  it('store-sync: each store holds its own products, works offline, and catches up both ways', () => {
    const out = run('store-sync.ts');
    expect(out).toMatch(/store 1 +bread 2.49, milk 1.09\n/);
    expect(out).toMatch(/store 2 +tea 3.99\n/);
    expect(out).toMatch(/store 1 offline +bread 2.49, milk 1.09 \[printed\]\n/);
    expect(out).toMatch(/store 1 online +bread 2.29, milk 1.09 \[printed\], tea 3.99\n/);
    expect(out).toMatch(/store 2 +\n/);
    expect(out).toMatch(/head office +bread 2.29, milk 1.09 \[printed\], tea 3.99\n/);
  });

  it('retail-feed: the hourly feed with 1% changed stores, changes and sends only that 1%', () => {
    const out = run('retail-feed.ts');
    expect(out).toContain('feed: 1000 products, 1000 stored');
    expect(out).toContain('store 1: 500 products');
    expect(out).toContain('store 2: 500 products');
    expect(out).toContain('SQL rows: 1000');
    expect(out).toContain('hourly feed: 1000 products, 10 stored, 990 unchanged');
    expect(out).toContain('catalogue changes: 10');
    expect(out).toContain('store 1 received: 5 products, sku-7 -, sku-100 100.5');
    expect(out).toContain('store 2 received: 5 products, sku-7 7.5, sku-100 -');
  });

  it('npm run examples runs them all', () => {
    const out = run('run-all.ts');
    expect(out).toContain('── examples/crdt/shopping-cart-orset.ts ──');
    expect(out).toContain('── examples/persistence/replicated-counter.ts ──');
    expect(out).toContain('── examples/cluster/container-power.ts ──');
    expect(out).toContain('── examples/retail-feed.ts ──');
  });
});
