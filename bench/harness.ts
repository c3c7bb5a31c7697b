import { execFileSync } from 'node:child_process';
/** One measured number: what `--json` prints, one object per line. */
export interface Result {
  readonly suite: string;
  readonly system: string;
  readonly metric: string;
  readonly value: number;
}

/**
 * Calls `fn` until `minMs` of wall time has passed (after one warm-up call) and returns the
 * calls per second. `fn` may do `batch` operations per call; the rate counts operations.
 */
export function opsPerSecond(fn: () => void, batch = 1, minMs = 250): number {
  fn();
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    fn();
    calls++;
    elapsed = performance.now() - start;
  } while (elapsed < minMs);
  return (calls * batch * 1000) / elapsed;
}

/** Suites or systems that failed (out of memory, a service missing): said under the tables. */
export const FAILURES: string[] = [];

/** Progress on stderr, so a long run shows where it is without disturbing --json on stdout. */
/**
 * Runs a bench worker (a TypeScript file under tsx, in a process of its own) and returns the
 * results it printed as JSON lines. If it fails — no NATS, PostgreSQL or Chromium on this
 * machine, say — the failure is recorded under `what` and the other suites still report.
 */
export function runWorker(script: string, args: readonly (string | number)[], what: string): Result[] {
  try {
    const out = execFileSync(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', script, ...args.map(String)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 },
    );
    return out
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Result);
  } catch (e) {
    const why = String((e as { stderr?: string }).stderr ?? e).match(/(MissingService|Error)[^\n]*/)?.[0];
    progress(`${what} failed: ${why}`);
    FAILURES.push(`${what}: failed (${why})`);
    return [];
  }
}

/** Builds apps/web for production (as `npm start` does) and returns its `dist` directory. */
export function buildWebPage(): string {
  const web = new URL('../apps/web/', import.meta.url).pathname;
  execFileSync('npm', ['run', 'build', '--silent', '--workspace', '@concord/web'], {
    cwd: web,
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return `${web}dist`;
}

export function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** The median of some measurements. */
export function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

/** One result per suite, system and metric: the median of its values (runs of one measurement, interleaved). */
export function medians(results: readonly Result[]): Result[] {
  const groups = new Map<string, Result[]>();
  for (const r of results) {
    const key = `${r.suite}\u0000${r.system}\u0000${r.metric}`;
    const group = groups.get(key);
    if (group) group.push(r);
    else groups.set(key, [r]);
  }
  return [...groups.values()].map((same) => ({ ...same[0]!, value: median(same.map((r) => r.value)) }));
}

/** Milliseconds for one call of `fn`: the median of `runs` calls. */
export function medianMs(fn: () => void, runs = 5): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  return median(times);
}

/** Async `medianMs`: milliseconds for one call of `fn`, the median of `runs` calls. */
export async function medianMsAsync(fn: () => Promise<unknown>, runs = 5): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return median(times);
}

/**
 * Bytes this process holds after full garbage collections (run with --expose-gc): the V8 heap
 * plus memory outside it (`external`, which already includes array buffers and so WebAssembly
 * memories — adding `arrayBuffers` again would count those twice).
 */
export function heldBytes(): number {
  for (let i = 0; i < 3; i++) globalThis.gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

export function round(n: number): number {
  if (n >= 100) return Math.round(n);
  if (n >= 1) return Math.round(n * 100) / 100;
  return Math.round(n * 10000) / 10000;
}

/** A markdown table: one row per `rowKey`, one column per `colKey`. */
export function table(
  results: readonly Result[],
  rowKey: (r: Result) => string,
  colKey: (r: Result) => string,
): string {
  const rows = [...new Set(results.map(rowKey))];
  const cols = [...new Set(results.map(colKey))];
  const cell = (row: string, col: string) => {
    const r = results.find((x) => rowKey(x) === row && colKey(x) === col);
    return r ? round(r.value).toLocaleString('en') : '';
  };
  return [
    `| | ${cols.join(' | ')} |`,
    `|---|${cols.map(() => '---:').join('|')}|`,
    ...rows.map((row) => `| ${row} | ${cols.map((c) => cell(row, c)).join(' | ')} |`),
  ].join('\n');
}
