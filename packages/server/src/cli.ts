#!/usr/bin/env node
import { createReadStream, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { Database, type Storage, type Where } from '@concord/db';
import { PostgresStorage } from '@concord/db/postgres';
import { SqliteStorage } from '@concord/db/sqlite';
import { type ColumnType, DEFAULT_STREAM, FeedStream, formatOf, publishFeed, readFeed } from '@concord/feed';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { pino } from 'pino';
import { jwtAuthenticator } from './Auth.js';
import { ChangeLog } from './ChangeLog.js';
import { seedDemo } from './demo.js';
import { FeedIngest } from './FeedIngest.js';
import { HttpServer } from './HttpServer.js';
import { LogSnapshots } from './LogSnapshots.js';
import { PostgresBindings } from './PostgresBindings.js';
import { printFromReplica } from './printFromReplica.js';
import { progressBar } from './progressBar.js';
import { SyncServer } from './SyncServer.js';

const USAGE = `usage: concord serve [--port 8787] [--host 127.0.0.1] [--data ./data/concord.db]
                     [--postgres <url> [--schema concord]] [--compact-every 100000]
                     [--auth-secret <HS256 secret> | --auth-public-key <PEM file>]
                     [--web <directory of the built page>]
                     [--nats <url> [--ingest <collection> [--stream catalogue]
                      [--columns name:text,price:numeric,…] [--ack-wait 30000]]]
       concord feed publish <file.jsonl|file.csv> [--nats nats://127.0.0.1:4222] [--stream catalogue]
       concord demo  [--url ws://127.0.0.1:8787/sync] [--token <JWT>]
       concord labels --out <labels.pdf> [--url ws://127.0.0.1:8787/sync] [--token <JWT>]
                      [--store <id> | --where <JSON filter>] [--data <replica.db>]
                      [--collection products] [--ids a,b,c] [--template shelf-strip|promo-sign]
                      [--locale en-GB] [--currency EUR] [--timeout 10000] [--queue]

serve: the sync server. Without --auth-secret or --auth-public-key it runs in development mode:
no token is needed and every connection may read and write everything. With --postgres and
--nats it is one node of the deployment named by --schema: nodes share every change through
its change log on NATS JetStream (a stream <schema>_changes), so a client may sync with any
of them, and moves to another with its cursors when its node goes away. Every --compact-every
messages of the change log, a node stores its database whole in <schema>.log_snapshots and the
stream is trimmed up to the older of the two snapshots kept: a node starting loads a snapshot
and replays the rest; a client whose cursor is older than the stream resyncs; a node keeps its
own database's log for the last two spans or more. A lone server keeps its database's log
between one and two spans of --compact-every changes: a client that missed more starts over
with a snapshot. With --nats and
--ingest it consumes the feed's stream into that collection (and, with --postgres, into the
SQL table <schema>.products, with the given columns); --ack-wait is how long (ms) a message
taken by a consumer that died waits before it is delivered again.
feed publish: publishes a product feed to the stream, one message per product, once per content.
demo: fills a running server's "kv" collection (the page's key-value editor), a small
"products" catalogue and the "stores" carrying it (the page's store app, ?store=s1).
labels: a store's print service. Renders shelf labels to a PDF from a local replica (a SQLite
file, --data, by default ./data/store-<id>.db or ./data/labels.db), caught up with the server
at --url first if it answers within --timeout ms, printed from the file as it is if it does not.
--store <id> follows (and prints) the products whose "stores" array holds <id>; --where takes
any filter instead; --ids prints only those. --queue (with --store) prints the store's print queue:
the products whose label changed since the store last printed them, and records what it printed
in the "printed" collection, synced back to the server.`;

/** `concord serve` (the sync server over HTTP and WebSocket on one port, until SIGINT or SIGTERM) and `concord demo`. */
async function main(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      port: { type: 'string', default: process.env.PORT ?? '8787' },
      host: { type: 'string', default: '127.0.0.1' },
      data: { type: 'string' },
      postgres: { type: 'string' },
      schema: { type: 'string', default: 'concord' },
      'compact-every': { type: 'string', default: '100000' },
      'auth-secret': { type: 'string', default: process.env.CONCORD_AUTH_SECRET },
      'auth-public-key': { type: 'string' },
      web: { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      nats: { type: 'string' },
      ingest: { type: 'string' },
      stream: { type: 'string', default: DEFAULT_STREAM },
      columns: { type: 'string' },
      'ack-wait': { type: 'string' },
      out: { type: 'string' },
      store: { type: 'string' },
      where: { type: 'string' },
      collection: { type: 'string', default: 'products' },
      ids: { type: 'string' },
      template: { type: 'string', default: 'shelf-strip' },
      locale: { type: 'string' },
      currency: { type: 'string' },
      timeout: { type: 'string', default: '10000' },
      queue: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (!values.help && positionals[0] === 'demo') {
    const url = values.url ?? `ws://127.0.0.1:${values.port}/sync`;
    const written = await seedDemo(url, values.token);
    console.log(
      `demo data at ${url}: ${written.kv} key-value entries, ${written.products} products and ${written.stores} stores written (those already there were kept)`,
    );
    return;
  }
  if (!values.help && positionals[0] === 'feed' && positionals[1] === 'publish' && positionals[2]) {
    await publish(positionals[2], values.nats ?? 'nats://127.0.0.1:4222', values.stream);
    return;
  }
  if (!values.help && positionals[0] === 'labels' && values.out) {
    const where = values.where
      ? (JSON.parse(values.where) as Where)
      : values.store
        ? { stores: { $contains: values.store } }
        : undefined;
    const printed = await printFromReplica({
      data: values.data ?? (values.store ? `./data/store-${values.store}.db` : './data/labels.db'),
      ...(values.url ? { url: values.url } : {}),
      ...(values.token ? { token: values.token } : {}),
      collection: values.collection,
      ...(where ? { where } : {}),
      ...(values.ids ? { ids: values.ids.split(',').filter((id) => id !== '') } : {}),
      template: values.template,
      out: values.out,
      ...(values.locale ? { locale: values.locale } : {}),
      ...(values.currency ? { currency: values.currency } : {}),
      syncTimeoutMs: Number(values.timeout),
      ...(values.queue ? { queue: values.store ?? fail('--queue needs --store <id>') } : {}),
    });
    const from = !values.url
      ? 'the local replica'
      : printed.synced
        ? 'the replica, caught up with the server'
        : 'the local replica (the server did not answer)';
    const queue = values.queue
      ? ` (the print queue of ${values.store}${printed.recorded ? ', recorded on the server' : ''})`
      : '';
    const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
    console.log(
      `${count(printed.labels, 'label')} on ${count(printed.sheets, 'sheet')} from ${from}${queue} → ${values.out}`,
    );
    for (const w of printed.warnings) console.error(`warning: ${w.product}: ${w.code}: ${w.message}`);
    if (printed.missing.length > 0) console.error(`not in the replica: ${printed.missing.join(', ')}`);
    return;
  }
  if (values.help || positionals[0] !== 'serve') {
    console.log(USAGE);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const log = pino({ name: 'concord' });
  // --postgres and --nats: a node of the deployment named by --schema. Its database is a cache
  // in memory, filled from the deployment's change log (NATS JetStream), which every node
  // publishes what it commits to; a write is acknowledged once the log holds it.
  const node = Boolean(values.postgres && values.nats);
  const data = values.data ?? './data/concord.db';
  let storage: Storage | undefined;
  if (node) storage = undefined;
  else if (values.postgres)
    storage = await PostgresStorage.open({ connectionString: values.postgres, schema: values.schema });
  else {
    mkdirSync(dirname(data), { recursive: true });
    storage = await SqliteStorage.open(data);
  }
  const db = await Database.open(storage ? { storage } : {});
  const nc = values.nats
    ? await connect({ servers: values.nats, maxReconnectAttempts: -1, noAsyncTraces: true })
    : undefined;
  const pool = node ? new pg.Pool({ connectionString: values.postgres }) : undefined;
  const compactEvery = Number(values['compact-every']);
  if (!Number.isSafeInteger(compactEvery) || compactEvery < 1)
    throw new Error(`--compact-every is a number of messages: ${values['compact-every']}`);
  const changeLog = pool
    ? await ChangeLog.start({
        db,
        nc: nc!,
        deployment: values.schema,
        log,
        snapshots: await LogSnapshots.open(pool, values.schema),
        compactEvery,
      })
    : undefined;
  const bindings = pool ? await PostgresBindings.open(pool, values.schema) : undefined;
  const secret = values['auth-secret'];
  const publicKey = values['auth-public-key'];
  const sync = new SyncServer({
    db,
    log,
    // A node's database log is compacted by its change log's spans (`ChangeLog`).
    compactEvery: changeLog ? Number.POSITIVE_INFINITY : compactEvery,
    ...(changeLog
      ? {
          durable: () => changeLog.flush(),
          reaches: (v) => changeLog.reaches(v),
          limits: { maxChangeBytes: changeLog.maxChangeBytes },
        }
      : {}),
    ...(bindings ? { bindings } : {}),
    ...(secret || publicKey
      ? {
          authenticate: jwtAuthenticator(
            secret ? { secret } : { publicKey: readFileSync(publicKey!, 'utf8') },
          ),
        }
      : {}),
  });
  if (values.ingest && !values.nats) throw new Error('--ingest needs --nats <url>');
  const ingest =
    values.nats && values.ingest
      ? await FeedIngest.start({
          db,
          nats: values.nats,
          stream: values.stream,
          collection: values.ingest,
          ...(values.postgres ? { postgres: values.postgres, schema: values.schema } : {}),
          ...(values.columns ? { columns: parseColumns(values.columns) } : {}),
          ...(values['ack-wait'] ? { ackWaitMs: Number(values['ack-wait']) } : {}),
          metrics: sync.metrics,
          durable: () => sync.durable(),
          ...(changeLog ? { maxChangeBytes: changeLog.maxChangeBytes } : {}),
        })
      : undefined;
  const server = await HttpServer.listen({
    sync,
    port: Number(values.port),
    host: values.host,
    ...(values.web ? { web: values.web } : {}),
    ...(ingest ? { health: () => ingest.health(), feed: ingest } : {}),
  });
  if (ingest)
    log.info({ nats: values.nats, stream: values.stream, collection: values.ingest }, 'ingesting the feed');
  log.info(
    { url: server.url, storage: values.postgres ? `postgres schema ${values.schema}` : data },
    `concord serving on ${server.url} (sync at ws://${values.host}:${server.port}/sync)`,
  );
  if (values.web) console.log(`\n  Concord is running: open ${server.url}/\n`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await ingest?.stop();
    await server.close();
    await changeLog?.stop();
    await nc?.drain().catch(() => undefined);
    await pool?.end();
    await db.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

function fail(message: string): never {
  throw new Error(message);
}

/** `name:text,price:numeric` as the projection's columns. */
function parseColumns(spec: string): Record<string, ColumnType> {
  const types = new Set(['text', 'numeric', 'bigint', 'boolean', 'jsonb']);
  const out: Record<string, ColumnType> = {};
  for (const part of spec.split(',')) {
    const [name, type] = part.split(':');
    if (!name || !type || !types.has(type))
      throw new Error(`--columns: ${part} is not name:type (text, numeric, bigint, boolean, jsonb)`);
    out[name] = type as ColumnType;
  }
  return out;
}

/** `concord feed publish`: a progress bar on a terminal (products/s, ETA), a summary line otherwise. */
async function publish(file: string, nats: string, streamName: string): Promise<void> {
  // No async stack traces: they cost the publish of a message more than the rest of it.
  const nc = await connect({ servers: nats, noAsyncTraces: true });
  try {
    const stream = new FeedStream(streamName);
    await stream.ensure(await jetstreamManager(nc));
    const started = performance.now();
    const tty = process.stdout.isTTY;
    const total = tty ? await recordsIn(file) : 0;
    let last = 0;
    const result = await publishFeed(nc, stream, readFeed(file), (p) => {
      const now = performance.now();
      if (!tty || now - last < 200) return;
      last = now;
      const done = p.stored + p.duplicates;
      process.stdout.write(`\r${progressBar(done, total, (now - started) / 1000)}`);
    });
    const seconds = (performance.now() - started) / 1000;
    if (tty) process.stdout.write('\n');
    console.log(
      `published ${result.published} products from ${file} to stream ${stream.name} in ${seconds.toFixed(1)} s (${Math.round(result.published / seconds)}/s): ${result.stored} stored, ${result.duplicates} unchanged`,
    );
  } finally {
    await nc.close();
  }
}

/**
 * About how many records a feed file holds, for the progress bar's ETA: its lines (less a CSV's
 * header). A CSV cell holding a line break makes it an estimate; the bar never passes 100%.
 */
async function recordsIn(file: string): Promise<number> {
  let lines = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>)
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
  return formatOf(file) === 'csv' ? Math.max(0, lines - 1) : lines;
}

main(process.argv.slice(2)).catch((e) => {
  console.error(e);
  process.exit(1);
});
