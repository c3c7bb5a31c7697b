import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gtinCheckDigit } from '@concord/labels';
import { concordServe, kill9, pdfText } from '@concord/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from './support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'concord-labels-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const labels = (args: readonly string[]) => run('../../src/cli.ts', ['labels', ...args]);
const text = async (file: string) => (await pdfText(new Uint8Array(readFileSync(file)))).join(' ');

describe('concord labels: a store prints from its own replica', () => {
  it('catches up with the server, then prints with the server gone', async () => {
    const { child, port } = await concordServe(['--port', '0', '--data', join(dir, 'server.db')]);
    try {
      const base = `http://127.0.0.1:${port}/api/collections/products`;
      for (let i = 0; i < 4; i++) {
        const prefix = String(500012341234 + i);
        const res = await fetch(`${base}/p${i}`, {
          method: 'PUT',
          body: JSON.stringify({
            name: `Käse ${i} 200g`,
            price: 3 + i,
            barcode: prefix + gtinCheckDigit(prefix),
            stores: i < 3 ? ['s1'] : ['s2'],
          }),
        });
        expect(res.status).toBe(200);
      }
      const args = ['--url', `ws://127.0.0.1:${port}/sync`, '--store', 's1', '--data', join(dir, 's1.db')];
      const first = join(dir, 'first.pdf');
      expect(await labels([...args, '--out', first])).toContain(
        '3 labels on 1 sheet from the replica, caught up with the server',
      );
      const printed = await text(first);
      expect(printed).toContain('Käse 0 200g');
      expect(printed).toContain('€15.00/kg');
      expect(printed).not.toContain('Käse 3');

      await kill9(child);
      const offline = join(dir, 'offline.pdf');
      const out = await labels([...args, '--timeout', '300', '--ids', 'p2,p3', '--out', offline]);
      expect(out).toContain('1 label on 1 sheet from the local replica (the server did not answer)');
      expect(await text(offline)).toContain('Käse 2 200g');
    } finally {
      await kill9(child);
    }
  });

  it('prints the print queue: what changed on the label since the store last printed it', async () => {
    const { child, port } = await concordServe(['--port', '0', '--data', join(dir, 'queue-server.db')]);
    try {
      const put = (id: string, body: Record<string, unknown>) =>
        fetch(`http://127.0.0.1:${port}/api/collections/products/${id}`, {
          method: 'PUT',
          body: JSON.stringify(body),
        });
      for (let i = 0; i < 3; i++)
        await put(`q${i}`, { name: `Tea ${i}`, price: 2 + i, stores: ['s7'], stock: 10 });
      const args = [
        '--url',
        `ws://127.0.0.1:${port}/sync`,
        '--store',
        's7',
        '--queue',
        '--data',
        join(dir, 's7.db'),
      ];
      expect(await labels([...args, '--out', join(dir, 'q1.pdf')])).toContain(
        '3 labels on 1 sheet from the replica, caught up with the server (the print queue of s7, recorded on the server)',
      );
      expect(await labels([...args, '--out', join(dir, 'q2.pdf')])).toContain('0 labels');
      // A new price goes on the shelf; new stock does not.
      await put('q1', { name: 'Tea 1', price: 9.99, stores: ['s7'], stock: 10 });
      await put('q2', { name: 'Tea 2', price: 4, stores: ['s7'], stock: 1 });
      expect(await labels([...args, '--out', join(dir, 'q3.pdf')])).toContain('1 label on 1 sheet');
      expect(await text(join(dir, 'q3.pdf'))).toContain('€9.99');
      // The head office sees what s7 printed, and that it is up to date.
      const printed = (await (
        await fetch(`http://127.0.0.1:${port}/api/collections/printed`)
      ).json()) as Array<{
        store: string;
        product: string;
      }>;
      expect(printed.map((p) => `${p.store}/${p.product}`).sort()).toEqual(['s7/q0', 's7/q1', 's7/q2']);
    } finally {
      await kill9(child);
    }
  });

  it('says what is wrong with its arguments', async () => {
    await expect(
      labels(['--out', join(dir, 'x.pdf'), '--template', 'poster', '--data', join(dir, 'x.db')]),
    ).rejects.toThrow(/no template "poster"; built in: shelf-strip, promo-sign/);
  });
});
