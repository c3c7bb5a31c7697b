// Child process of the feed suite: `feed-worker.ts <n> <stores>`. Seed 000's pipeline as a user
// runs it — `concord serve --postgres … --nats … --ingest products` in its own process, the feed
// published with `publishFeed` from a JSON Lines file — measured twice: the full n-product feed
// from the first publish to both consumers done, then the hourly update (1% of the prices
// changed, the whole feed republished) from the first publish to the last of `stores` store
// clients holding every new price of its assortment. Prints JSON lines (bench Results).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FeedStream, publishFeed, readFeed } from '@concord/feed';
import { concordServe, requireNats, requirePostgres } from '@concord/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { assortment } from './feed-stores.js';
import { progress, type Result } from './harness.js';
import { catalogue, changedIndexes, priceOf } from './retail.suite.js';

const n = Number(process.argv[2] ?? 100_000);
const storeCount = Number(process.argv[3] ?? 1000);
const suite = `feed/${n / 1000}k`;
const out = (system: string, metric: string, value: number) =>
  console.log(JSON.stringify({ suite, system, metric, value } satisfies Result));
const percentile = (xs: number[], p: number) =>
  [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

const nats = await requireNats();
const postgres = await requirePostgres();
const name = `bench_feed_${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'concord-bench-feed-'));
const STORES = fileURLToPath(new URL('./feed-stores.ts', import.meta.url));

/** The consumers' progress, as `/healthz` reports it. */
async function consumers(port: number) {
  const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as {
    feed: Record<string, { applied: number; lag: number | null; changes?: number }>;
  };
  return health.feed;
}

/** Polls until `done` holds, every 20 ms; resolves with the time it first held. */
async function whenDone(done: () => Promise<boolean>): Promise<number> {
  while (!(await done())) await new Promise((r) => setTimeout(r, 20));
  return performance.now();
}

const writeFeed = (hour: number) => {
  const products = catalogue(n);
  if (hour > 0) for (const i of changedIndexes(n)) products[i]!.price = priceOf(i, hour);
  const file = join(dir, `feed-${hour}.jsonl`);
  writeFileSync(file, `${products.map((p) => JSON.stringify(p)).join('\n')}\n`);
  return file;
};

const nc = await connect({ servers: nats, noAsyncTraces: true });
const jsm = await jetstreamManager(nc);
const stream = new FeedStream(name);
await stream.ensure(jsm);
const { child, port } = await concordServe([
  ...['--postgres', postgres, '--schema', name, '--nats', nats, '--stream', name],
  ...['--ingest', 'products', '--columns', 'name:text,price:numeric,category:text,aisle:bigint'],
  ...['--port', '0'],
]);
const sql = new pg.Client({ connectionString: postgres });
await sql.connect();
const storeProcesses: ChildProcess[] = [];
try {
  // 1. The full feed, from the first publish to both consumers done.
  const first = writeFeed(0);
  progress(`${suite}: publishing ${n} products`);
  const start = performance.now();
  const published = await publishFeed(nc, stream, readFeed(first));
  const publishedAt = performance.now();
  let sqlDone = 0;
  let diffDone = 0;
  await whenDone(async () => {
    const c = await consumers(port);
    const now = performance.now();
    if (!sqlDone && c.sql!.applied >= n && c.sql!.lag === 0) sqlDone = now;
    if (!diffDone && c.concord!.applied >= n && c.concord!.lag === 0) diffDone = now;
    return sqlDone > 0 && diffDone > 0;
  });
  const rows = (await sql.query(`SELECT count(*)::int AS n FROM "${name}".products`)).rows[0].n;
  if (published.stored !== n || rows !== n) throw new Error(`feed: ${published.stored} stored, ${rows} rows`);
  const rate = (at: number) => n / ((at - start) / 1000);
  out('concord', 'publish products/s', rate(publishedAt));
  out('concord', 'SQL projection products/s', rate(sqlDone));
  out('concord', 'diff to CRDT products/s', rate(diffDone));
  out('concord', 'end to end products/s', rate(Math.max(sqlDone, diffDone)));
  const changesBefore = (await consumers(port)).concord!.changes!;
  if (changesBefore !== n) throw new Error(`feed: ${changesBefore} catalogue changes for ${n} products`);

  // 2. The hourly update to `storeCount` stores, each following a range of the catalogue, in
  // two processes of their own (a store is not in the head office's process).
  progress(`${suite}: ${storeCount} stores syncing their assortments`);
  const url = `ws://127.0.0.1:${port}/sync`;
  const half = Math.ceil(storeCount / 2);
  storeProcesses.push(
    ...[
      [0, half],
      [half, storeCount - half],
    ]
      .filter(([, count]) => count! > 0)
      .map(([first, count]) =>
        spawn(
          process.execPath,
          [
            '--conditions=source',
            '--import',
            'tsx',
            STORES,
            url,
            String(n),
            String(first),
            String(count),
            '1',
          ],
          { stdio: ['pipe', 'pipe', 'inherit'] },
        ),
      ),
  );
  const answers = storeProcesses.map((c) => createInterface({ input: c.stdout! })[Symbol.asyncIterator]());
  for (const a of answers) if ((await a.next()).value !== 'ready') throw new Error('a stores process failed');
  const next = writeFeed(1);
  progress(`${suite}: the hourly update`);
  const t0 = performance.timeOrigin + performance.now();
  for (const c of storeProcesses) c.stdin!.write('go\n');
  const update = await publishFeed(nc, stream, readFeed(next));
  const publishMs = performance.timeOrigin + performance.now() - t0;
  const reports = await Promise.all(
    answers.map(
      async (a) => JSON.parse((await a.next()).value as string) as { done: number[]; bytes: number },
    ),
  );
  const latencies = reports.flatMap((r) => r.done.map((t) => t - t0));
  const changed = changedIndexes(n);
  const changes = (await consumers(port)).concord!.changes! - changesBefore;
  if (update.stored !== changed.length || changes !== changed.length)
    throw new Error(
      `hourly update: ${update.stored} stored, ${changes} changes for ${changed.length} prices`,
    );
  // Prices each store was sent: the changed products of its assortment.
  let held = 0;
  for (let st = 0; st < storeCount; st++) {
    const { lo, hi } = assortment(st, n);
    held += changed.filter((i) => i >= lo && i < hi).length;
  }
  const bytes = reports.reduce((sum, r) => sum + r.bytes, 0);
  const storeSuite = `feed-update/${storeCount}`;
  const outStores = (metric: string, value: number) =>
    console.log(JSON.stringify({ suite: storeSuite, system: 'concord', metric, value } satisfies Result));
  outStores('p50 ms', percentile(latencies, 0.5));
  outStores('p99 ms', percentile(latencies, 0.99));
  outStores('publish ms', publishMs);
  outStores('catalogue changes', changes);
  outStores('unchanged products published', update.duplicates);
  outStores('store bytes per changed price', bytes / held);
} finally {
  for (const c of storeProcesses) c.kill('SIGKILL');
  child.kill('SIGKILL');
  await jsm.streams.delete(name).catch(() => undefined);
  await jsm.streams.delete(`${name}_changes`).catch(() => undefined); // the node's change log
  await sql.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  await sql.end();
  await nc.close();
  rmSync(dir, { recursive: true, force: true });
}
