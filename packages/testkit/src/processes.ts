import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer, connect as netConnect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The `concord` command's source: tests run it as a user does, in a process of its own. */
const CLI = join(dirname(fileURLToPath(import.meta.url)), '../../server/src/cli.ts');

/** `concord serve <args>` in a child process; resolves once it listens, with its port. */
export async function concordServe(
  args: readonly string[],
  /** Each line the server logs once listening (else drained, not kept). */
  onLine?: (line: string) => void,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CLI, 'serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out: string | undefined = '';
    let rest = '';
    child.stdout!.on('data', (d) => {
      if (out === undefined) {
        // Listening: later logs are drained, or handed over a line at a time.
        if (!onLine) return;
        const lines = (rest + d).split('\n');
        rest = lines.pop()!;
        for (const line of lines) onLine(line);
        return;
      }
      out += d;
      const m = /"url":"http:\/\/[^:]+:(\d+)"/.exec(out);
      if (!m) return;
      out = undefined;
      resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`concord serve exited with ${code}: ${err}`)));
  });
  return { child, port };
}

/** Kills with SIGKILL and waits for the process to be gone. */
export async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

/**
 * `n` distinct TCP ports free on 127.0.0.1 now, for servers a test starts (and restarts on the
 * same ports), held open together while chosen so no two are the same. Chosen below the
 * kernel's ephemeral range: a port the kernel handed out for `listen(0)` and took back could be
 * handed out again — to a proxy or an outgoing connection of this test or another — before the
 * server the test starts binds it (seen: a cluster node's EADDRINUSE in CI). Nothing takes a
 * port below that range unless asked for it by number.
 */
export async function freePorts(n: number): Promise<number[]> {
  const [low] = ephemeralRange();
  const held: Array<ReturnType<typeof createServer>> = [];
  try {
    while (held.length < n) {
      const port = randomInt(10_000, low);
      const probe = await new Promise<ReturnType<typeof createServer> | undefined>((resolve) => {
        const server = createServer();
        server.once('error', () => resolve(undefined));
        server.listen(port, '127.0.0.1', () => resolve(server));
      });
      if (probe) held.push(probe);
    }
    return held.map((p) => (p.address() as AddressInfo).port);
  } finally {
    await Promise.all(held.map((p) => new Promise((r) => p.close(r))));
  }
}

/** The kernel's range for ports it assigns (Linux; elsewhere the usual default). */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (low! > 10_100 && high! >= low!) return [low!, high!];
  } catch {
    // Not Linux.
  }
  return [32_768, 60_999];
}

/** Resolves once something accepts connections on 127.0.0.1:`port` (within 10 s). */
export async function listening(port: number): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    const up = await new Promise<boolean>((r) => {
      const s = netConnect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      }).once('error', () => r(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`nothing listens on port ${port}`);
}

/**
 * A NATS server with JetStream of a test's own (`nats-server`, as the machine runs it), so the
 * test may kill and restart it while the machine's serves the others: `start` (again after a
 * kill, on the same port and store) resolves once it listens. On `chosen`, or a free port.
 */
export async function ownNatsServer(
  store: string,
  chosen?: number,
): Promise<{ url: string; start: () => Promise<ChildProcess> }> {
  const port = chosen ?? (await freePorts(1))[0]!;
  const start = async () => {
    const child = spawn(
      process.env.NATS_SERVER ?? '/usr/sbin/nats-server',
      ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store],
      {
        stdio: 'ignore',
      },
    );
    await listening(port);
    return child;
  };
  return { url: `nats://127.0.0.1:${port}`, start };
}
