// @vitest-environment happy-dom
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '@concord/db';
import { SqliteStorage } from '@concord/db/sqlite';
import { concordServe, exampleModule, kill9, readmeExamples } from '@concord/testkit';
import { waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

// The README's example runs as a module in a browser-like environment, against a real server
// (`concord serve` in a process of its own, its URL put in place of the README's), and must
// render the shelf: the product written locally at once, the server's once synced.
const blocks = readmeExamples('packages/react/README.md');

describe('packages/react/README.md', () => {
  it('has an example', () => expect(blocks.length).toBe(1));

  it('the example renders the shelf: local writes at once, the server’s once synced', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'concord-react-readme-'));
    const file = join(dir, 'server.db');
    const seed = await Database.open({ storage: await SqliteStorage.open(file) });
    await seed.collection('products').upsert({ _id: 'milk', name: 'Milk', price: 1.2 });
    await seed.close();
    const server = await concordServe(['--port', '0', '--data', file]);
    document.body.innerHTML = '<div id="app"></div>';
    const code = blocks[0]!.replace('wss://example.com/sync', `ws://127.0.0.1:${server.port}/sync`);
    expect(code).not.toBe(blocks[0]);
    const example = exampleModule(code, 'react-1.tsx');
    try {
      const { db, sync } = (await import(/* @vite-ignore */ example.path)) as {
        db: Database;
        sync: { close(): Promise<void> };
      };
      await waitFor(() => expect(document.body.textContent).toContain('Milk: 1.2'), { timeout: 10_000 });
      expect(document.body.textContent).toContain('Tea: 3.5');
      await waitFor(() => expect(document.querySelector('p')?.textContent).toBe('live')); // and nothing unsent
      await sync.close();
      await db.close();
      // Acknowledged, so durable on the server: its file holds the shelf's local write.
      await kill9(server.child);
      const after = await Database.open({ storage: await SqliteStorage.open(file) });
      expect((await after.collection('products').get('tea'))?.price).toBe(3.5);
      await after.close();
    } finally {
      example.remove();
      await kill9(server.child);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
