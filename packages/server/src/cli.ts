#!/usr/bin/env node
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { Database, type Storage } from '@concord/db';
import { PostgresStorage } from '@concord/db/postgres';
import { SqliteStorage } from '@concord/db/sqlite';
import { pino } from 'pino';
import { jwtAuthenticator } from './Auth.js';
import { seedDemo } from './demo.js';
import { HttpServer } from './HttpServer.js';
import { SyncServer } from './SyncServer.js';

const USAGE = `usage: concord serve [--port 8787] [--host 127.0.0.1] [--data ./data/concord.db]
                     [--postgres <url> [--schema concord]]
                     [--auth-secret <HS256 secret> | --auth-public-key <PEM file>]
                     [--web <directory of the built page>]
       concord demo  [--url ws://127.0.0.1:8787/sync] [--token <JWT>]

serve: the sync server. Without --auth-secret or --auth-public-key it runs in development mode:
no token is needed and every connection may read and write everything.
demo: fills a running server's "kv" collection (the page's key-value editor) and a small
"products" catalogue.`;

/** `concord serve` (the sync server over HTTP and WebSocket on one port, until SIGINT or SIGTERM) and `concord demo`. */
async function main(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      port: { type: 'string', default: process.env.PORT ?? '8787' },
      host: { type: 'string', default: '127.0.0.1' },
      data: { type: 'string', default: './data/concord.db' },
      postgres: { type: 'string' },
      schema: { type: 'string', default: 'concord' },
      'auth-secret': { type: 'string', default: process.env.CONCORD_AUTH_SECRET },
      'auth-public-key': { type: 'string' },
      web: { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (!values.help && positionals[0] === 'demo') {
    const url = values.url ?? `ws://127.0.0.1:${values.port}/sync`;
    const written = await seedDemo(url, values.token);
    console.log(
      `demo data at ${url}: ${written.kv} key-value entries and ${written.products} products written (those already there were kept)`,
    );
    return;
  }
  if (values.help || positionals[0] !== 'serve') {
    console.log(USAGE);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const log = pino({ name: 'concord' });
  let storage: Storage;
  if (values.postgres)
    storage = await PostgresStorage.open({ connectionString: values.postgres, schema: values.schema });
  else {
    mkdirSync(dirname(values.data), { recursive: true });
    storage = await SqliteStorage.open(values.data);
  }
  const db = await Database.open({ storage });
  const secret = values['auth-secret'];
  const publicKey = values['auth-public-key'];
  const sync = new SyncServer({
    db,
    log,
    ...(secret || publicKey
      ? {
          authenticate: jwtAuthenticator(
            secret ? { secret } : { publicKey: readFileSync(publicKey!, 'utf8') },
          ),
        }
      : {}),
  });
  const server = await HttpServer.listen({
    sync,
    port: Number(values.port),
    host: values.host,
    ...(values.web ? { web: values.web } : {}),
  });
  log.info(
    { url: server.url, storage: values.postgres ? `postgres schema ${values.schema}` : values.data },
    `concord serving on ${server.url} (sync at ws://${values.host}:${server.port}/sync)`,
  );
  if (values.web) console.log(`\n  Concord is running: open ${server.url}/\n`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await server.close();
    await db.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main(process.argv.slice(2)).catch((e) => {
  console.error(e);
  process.exit(1);
});
