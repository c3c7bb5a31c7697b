// Child process of the sync suite: `sync-worker.ts initial <n> <runs>` measures initial sync and
// reconnect on the n-product catalogue; `sync-worker.ts fanout <system> <clients> <writes>` the
// latency from one write to every client having applied it; `sync-worker.ts writes <system>
// <clients> <seconds>` the writes acknowledged per second; `sync-worker.ts stores <n> <count>` the
// initial sync of `count` stores at once (their clients in two processes of `store-clients`).
// Prints JSON lines (bench Results).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Database, type SyncClient, type WebSocketLike, WebSocketTransport } from '@concord/db';
import { concordServe, requireNats, requirePostgres } from '@concord/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { median, progress, type Result } from './harness.js';
import { catalogue, changedIndexes, checksum, priceOf } from './retail.suite.js';

const [mode, a, b, c] = process.argv.slice(2);
const out = (r: Result) => console.log(JSON.stringify(r));

/** Starts `sync-server.ts` and waits for its ports. */
async function startServer(
  args: string[],
): Promise<{ child: ChildProcess; ports: { sync: number; http?: number }; lines: AsyncIterator<string> }> {
  const child = spawn(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      'tsx',
      new URL('./sync-server.ts', import.meta.url).pathname,
      ...args,
    ],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const first = await lines.next();
  return { child, ports: JSON.parse(first.value as string), lines };
}

/** A sync transport factory that counts payload bytes both ways. */
function counted(url: string, counter: { bytes: number }) {
  return async () => {
    const t = await WebSocketTransport.connect(url, (u) => new WebSocket(u) as unknown as WebSocketLike);
    const send = t.send.bind(t);
    t.send = (frame) => {
      counter.bytes += frame.length;
      send(frame);
    };
    t.onMessage((frame) => {
      counter.bytes += frame.length;
    });
    return t;
  };
}

async function initial(n: number, runs: number): Promise<void> {
  const suite = `sync/${n / 1000}k`;
  const products = catalogue(n);
  const expected = checksum(products);
  progress(`${suite}: building the server's catalogue`);
  const { child, ports, lines } = await startServer(['concord', String(n)]);
  const url = `ws://127.0.0.1:${ports.sync}/sync`;
  const syncTimes: number[] = [];
  const httpTimes: number[] = [];
  let syncBytes = 0;
  let httpBytes = 0;
  let kept: { db: Database } | undefined;
  for (let run = 0; run < runs; run++) {
    const counter = { bytes: 0 };
    const db = await Database.open();
    const start = performance.now();
    const sync = db.sync(counted(url, counter), { subscriptions: [{ collection: 'products' }] });
    await sync.synced();
    const docs = await db.collection('products').find();
    if (docs.length !== n || checksum(docs) !== expected) throw new Error('initial sync: wrong catalogue');
    syncTimes.push(performance.now() - start);
    syncBytes = counter.bytes;
    await sync.close();
    if (kept) await db.close();
    else kept = { db };

    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${ports.http}/catalogue.json`);
    const parsed = JSON.parse(await res.text()) as object[];
    if (checksum(parsed) !== expected) throw new Error('http: wrong catalogue');
    httpTimes.push(performance.now() - t0);
    httpBytes = Number(res.headers.get('content-length'));
  }
  out({ suite, system: 'concord', metric: 'initial sync ms', value: median(syncTimes) });
  out({ suite, system: 'concord', metric: 'initial sync bytes', value: syncBytes });
  out({ suite, system: 'http-gzip-json', metric: 'initial sync ms', value: median(httpTimes) });
  out({ suite, system: 'http-gzip-json', metric: 'initial sync bytes', value: httpBytes });

  // Reconnect after the hourly update: 1% of the prices changed while the client was away.
  const db = kept!.db;
  const changed = changedIndexes(n);
  child.stdin!.write('change 1\n');
  while ((await lines.next()).value !== 'changed');
  const counter = { bytes: 0 };
  const start = performance.now();
  const sync = db.sync(counted(url, counter), { subscriptions: [{ collection: 'products' }] });
  await sync.synced();
  const ms = performance.now() - start;
  for (const i of changed) {
    const doc = await db.collection('products').get(products[i]!._id);
    if (doc?.price !== priceOf(i, 1)) throw new Error(`reconnect: ${products[i]!._id} not updated`);
  }
  const raw = changed.reduce((sum, i) => sum + JSON.stringify(priceOf(i, 1)).length, 0);
  const rawWithIds = changed.reduce(
    (sum, i) => sum + JSON.stringify({ _id: products[i]!._id, price: priceOf(i, 1) }).length,
    0,
  );
  out({ suite, system: 'concord', metric: 'reconnect ms', value: ms });
  out({ suite, system: 'concord', metric: 'reconnect bytes', value: counter.bytes });
  out({ suite, system: 'raw changed values', metric: 'reconnect bytes', value: raw });
  out({ suite, system: 'raw changed {_id, price}', metric: 'reconnect bytes', value: rawWithIds });
  await sync.close();
  await db.close();
  child.kill();
}

/** Writes before measuring, so both systems are measured with their code optimised. */
const WARMUP = 5;
const percentile = (xs: number[], p: number) =>
  [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

/** One writer, `clients` subscribers: latency from each write to each client having applied it. */
async function fanout(system: string, clients: number, writes: number): Promise<void> {
  const suite = `fan-out/${clients}`;
  // concord-3-nodes: three `concord serve` nodes of one deployment (PostgreSQL, NATS), the
  // clients spread over them, the writer on the first.
  const deployment = `bench_fanout_${process.pid}`;
  const nodes = system === 'concord-3-nodes' ? await startNodes(3, deployment) : [];
  const { child, ports } =
    nodes.length > 0
      ? { child: nodes[0]!.child, ports: { sync: nodes[0]!.port } }
      : await startServer(system === 'yjs' ? ['yjs'] : ['concord', '0']);
  const urls =
    nodes.length > 0
      ? nodes.map((n) => `ws://127.0.0.1:${n.port}/sync`)
      : [`ws://127.0.0.1:${ports.sync}/sync`];
  const latencies: number[] = [];
  let round = 0;
  let sentAt = 0;
  let pending = 0;
  let done: () => void = () => undefined;
  const arrived = (v: unknown) => {
    if (v !== round) return;
    if (round > WARMUP) latencies.push(performance.now() - sentAt);
    if (--pending === 0) done();
  };
  let write: (v: number) => Promise<void>;
  let close: () => Promise<void>;
  if (system === 'yjs') {
    const url = `ws://127.0.0.1:${ports.sync}`;
    const open = () => {
      const doc = new Y.Doc();
      const provider = new WebsocketProvider(url, 'fanout', doc, {
        WebSocketPolyfill: WebSocket as never,
        disableBc: true,
      });
      const synced = new Promise<void>((r) => provider.once('sync', () => r()));
      return { doc, provider, synced };
    };
    const subs = Array.from({ length: clients }, open);
    for (const s of subs) s.doc.getMap('m').observe(() => arrived(s.doc.getMap('m').get('v')));
    const writer = open();
    await Promise.all([...subs, writer].map((s) => s.synced));
    write = async (v) => {
      writer.doc.getMap('m').set('v', v);
    };
    close = async () => {
      for (const s of [...subs, writer]) s.provider.destroy();
    };
  } else {
    const open = async (i: number) => {
      const db = await Database.open();
      const sync: SyncClient = db.sync(urls[i % urls.length]!, { subscriptions: [{ collection: 'hot' }] });
      return { db, sync };
    };
    const subs = await Promise.all(Array.from({ length: clients }, (_, i) => open(i)));
    for (const s of subs)
      s.db.onChange((e) => {
        for (const d of e.docs) if (d.docId === 'hot') arrived(d.after?.v);
      });
    const writer = await open(0);
    await Promise.all([...subs, writer].map((s) => s.sync.synced()));
    write = (v) => writer.db.collection('hot').upsert({ _id: 'hot', v });
    close = async () => {
      for (const s of [...subs, writer]) await s.sync.close();
    };
  }
  for (round = 1; round <= WARMUP + writes; round++) {
    pending = clients;
    const all = new Promise<void>((r) => (done = r));
    sentAt = performance.now();
    await write(round);
    await all;
    await new Promise((r) => setTimeout(r, 20));
  }
  out({
    suite,
    system: system === 'yjs' ? 'y-websocket' : system,
    metric: 'p50 ms',
    value: percentile(latencies, 0.5),
  });
  out({
    suite,
    system: system === 'yjs' ? 'y-websocket' : system,
    metric: 'p99 ms',
    value: percentile(latencies, 0.99),
  });
  await close();
  child.kill();
  for (const n of nodes) n.child.kill('SIGKILL');
  if (nodes.length > 0) await removeDeployment(deployment);
}

/** `n` nodes of one deployment: `concord serve --postgres … --nats … --schema deployment`. */
async function startNodes(n: number, deployment: string) {
  const args = ['--postgres', await requirePostgres(), '--nats', await requireNats(), '--schema', deployment];
  return Promise.all(Array.from({ length: n }, () => concordServe([...args, '--port', '0'])));
}

/** A deployment's change log and PostgreSQL schema, gone. */
async function removeDeployment(deployment: string): Promise<void> {
  const nc = await connect({ servers: await requireNats() });
  await (await jetstreamManager(nc)).streams.delete(`${deployment}_changes`).catch(() => undefined);
  await nc.close();
  const sql = new pg.Client({ connectionString: await requirePostgres() });
  await sql.connect();
  await sql.query(`DROP SCHEMA IF EXISTS "${deployment}" CASCADE`);
  await sql.end();
}

/**
 * Writes acknowledged per second, each only once durable: `clients` clients (in this process)
 * each writing batches of 20 documents and waiting for the server to hold them, for `seconds`;
 * against one `concord serve` on a SQLite file, or three nodes of a deployment (durable in the
 * change log), the clients spread over them.
 */
async function writes(system: string, clients: number, seconds: number): Promise<void> {
  const deployment = `bench_writes_${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'concord-bench-writes-'));
  const nodes =
    system === 'concord-3-nodes'
      ? await startNodes(3, deployment)
      : [await concordServe(['--data', join(dir, 'writes.db'), '--port', '0'])];
  const writers = await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      const db = await Database.open();
      const sync = db.sync(`ws://127.0.0.1:${nodes[i % nodes.length]!.port}/sync`, {
        subscriptions: [{ collection: `own-${i}` }],
      });
      await sync.synced();
      return { db, sync };
    }),
  );
  let acked = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    writers.map(async ({ db, sync }, i) => {
      for (let k = 0; performance.now() < end; k += 20) {
        await db
          .collection(`own-${i}`)
          .upsertMany(Array.from({ length: 20 }, (_, j) => ({ _id: `d${k + j}`, by: i, at: k + j })));
        await sync.synced();
        acked += 20;
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  out({
    suite: `writes/${clients} clients`,
    system,
    metric: 'acknowledged writes/s',
    value: acked / elapsed,
  });
  for (const w of writers) await w.sync.close();
  for (const w of writers) await w.db.close();
  for (const n of nodes) n.child.kill('SIGKILL');
  if (system === 'concord-3-nodes') await removeDeployment(deployment);
  rmSync(dir, { recursive: true, force: true });
}

/** Server CPU seconds (user + system) of a process, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Issue 19's morning: `stores` stores start their initial sync of the n-product catalogue at
 * once, spread over two client processes (`store-clients`), beside the same number of
 * downloads of it as gzip JSON from a static server, also in two processes. Wall time until
 * every store holds it, and the server's CPU seconds for the lot.
 */
async function stores(n: number, count: number): Promise<void> {
  const suite = `initial-sync/${count} stores × ${n / 1000}k`;
  progress(`${suite}: building the server's catalogue`);
  const { child, ports } = await startServer(['concord', String(n)]);
  const run = async (system: 'concord' | 'http-gzip-json') => {
    const target =
      system === 'concord'
        ? `ws://127.0.0.1:${ports.sync}/sync`
        : `http://127.0.0.1:${ports.http}/catalogue.json`;
    const procs = [0, 1].map(() =>
      spawn(
        process.execPath,
        [
          '--conditions=source',
          '--import',
          'tsx',
          fileURLToPath(import.meta.url),
          'store-clients',
          system,
          target,
          String(n),
          String(count / 2),
        ],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      ),
    );
    const ready = procs.map((p) => createInterface({ input: p.stdout! })[Symbol.asyncIterator]());
    for (const r of ready)
      if ((await r.next()).value !== 'ready') throw new Error('store clients failed to start');
    const cpu = cpuSeconds(child.pid!);
    const start = performance.now();
    for (const p of procs) p.stdin!.write('go\n');
    for (const r of ready)
      if ((await r.next()).value !== 'done') throw new Error(`${system}: a store failed`);
    const ms = performance.now() - start;
    const serverCpu = cpuSeconds(child.pid!) - cpu;
    for (const p of procs) p.kill();
    return { ms, serverCpu };
  };
  // The baseline before and after, its mean kept: drift on the machine hits both alike.
  const before = await run('http-gzip-json');
  const concord = await run('concord');
  const after = await run('http-gzip-json');
  const http = { ms: (before.ms + after.ms) / 2, serverCpu: (before.serverCpu + after.serverCpu) / 2 };
  for (const [system, r] of [
    ['concord', concord],
    ['http-gzip-json', http],
  ] as const) {
    out({ suite, system, metric: 'all stores synced ms', value: r.ms });
    out({ suite, system, metric: 'server CPU s', value: r.serverCpu });
  }
  child.kill();
}

/** A client process of `stores`: `count` stores that start when told, and say when all hold the catalogue. */
async function storeClients(system: string, target: string, n: number, count: number): Promise<void> {
  const expected = checksum(catalogue(n));
  const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  console.log('ready');
  await input.next();
  await Promise.all(
    Array.from({ length: count }, async () => {
      if (system === 'concord') {
        const db = await Database.open();
        const sync = db.sync(target, { subscriptions: [{ collection: 'products' }] });
        await sync.synced();
        const docs = await db.collection('products').find();
        if (docs.length !== n || checksum(docs) !== expected)
          throw new Error('a store got a wrong catalogue');
        await sync.close();
      } else {
        const res = await fetch(target);
        if (checksum(JSON.parse(await res.text()) as object[]) !== expected)
          throw new Error('wrong catalogue');
      }
    }),
  );
  console.log('done');
}

if (mode === 'initial') await initial(Number(a), Number(b));
else if (mode === 'stores') await stores(Number(a), Number(b));
else if (mode === 'store-clients') await storeClients(a!, b!, Number(c), Number(process.argv[6]));
else if (mode === 'fanout') await fanout(a!, Number(b), Number(c));
else if (mode === 'writes') await writes(a!, Number(b), Number(c));
else
  throw new Error(
    'usage: sync-worker.ts initial <n> <runs> | stores <n> <count> | fanout <concord|concord-3-nodes|yjs> <clients> <writes> | writes <concord-1-node|concord-3-nodes> <clients> <seconds>',
  );
process.exit(0);
