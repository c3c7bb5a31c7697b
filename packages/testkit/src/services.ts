import { existsSync } from 'node:fs';
import { connect } from 'node:net';

/**
 * A machine service a test needs and cannot find. It fails the test at once with one line that
 * names what is missing and how to start it — not a stack trace, not a time-out.
 */
export class MissingService extends Error {
  override readonly name = 'MissingService';
  constructor(message: string) {
    super(message);
    this.stack = `${this.name}: ${message}`;
  }
}

/** The PostgreSQL the tests use (trust auth, database `test`): `DATABASE_URL`, or the machine's. */
export const POSTGRES_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

/** Resolves if PostgreSQL accepts connections at `POSTGRES_URL`'s host and port. */
export async function requirePostgres(): Promise<string> {
  const { hostname, port } = new URL(POSTGRES_URL);
  if (!(await reachable(hostname, Number(port || 5432))))
    throw new MissingService(
      `PostgreSQL is not running at ${hostname}:${port || 5432}: run .ci/run, or start it with pg_ctlcluster <version> main start`,
    );
  return POSTGRES_URL;
}

/** The NATS server with JetStream the tests use: `NATS_URL`, or the machine's. */
export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

/** Resolves with `NATS_URL` if NATS accepts connections there. */
export async function requireNats(): Promise<string> {
  const { hostname, port } = new URL(NATS_URL);
  if (!(await reachable(hostname, Number(port || 4222))))
    throw new MissingService(
      `NATS is not running at ${hostname}:${port || 4222}: run .ci/run, or start it with nats-server -js (see the machine notes)`,
    );
  return NATS_URL;
}

/** Whether something accepts TCP connections at `host:port` (within 2 s). */
async function reachable(host: string, port: number): Promise<boolean> {
  const socket = connect({ host, port });
  const ok = await new Promise<boolean>((resolve) => {
    socket.setTimeout(2_000);
    socket.once('connect', () => resolve(true));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => resolve(false));
  });
  socket.destroy();
  return ok;
}

/** Debian's Chromium, which the browser tests drive (a test tool never downloads a browser). */
export const CHROMIUM = '/usr/bin/chromium';

export function requireChromium(): string {
  if (!existsSync(CHROMIUM))
    throw new MissingService(
      `Chromium is missing at ${CHROMIUM}: run .ci/run, or install it with apt-get install -y chromium`,
    );
  return CHROMIUM;
}
