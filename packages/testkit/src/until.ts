/**
 * Resolves once `check` holds, polling every few milliseconds; fails naming `what` after `ms`.
 * For waiting on real I/O — a process, NATS, PostgreSQL, a socket — where nothing can say when
 * it is done; simulated time has `SimClock.run` instead.
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  ms = 10_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
