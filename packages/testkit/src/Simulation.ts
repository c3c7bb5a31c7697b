import { BaseTransport, type CloseInfo, NORMAL_CLOSE, type Timers, type Transport } from '@concord/db';
import type { SeededRng } from './Rng.js';

/**
 * `@concord/testkit/simulation`. Virtual time for a simulation: timers fire in time order when `run` finds nothing else to do,
 * so a seeded run replays exactly and hours of backoff and heartbeats take milliseconds.
 */
export class SimClock implements Timers {
  private time = 1_700_000_000_000;
  private seq = 0;
  private readonly queue: Array<{ at: number; seq: number; fn: () => void }> = [];

  now = (): number => this.time;

  setTimeout(fn: () => void, ms: number): unknown {
    const t = { at: this.time + Math.max(0, ms), seq: this.seq++, fn };
    this.queue.push(t);
    return t;
  }

  clearTimeout(handle: unknown): void {
    const i = this.queue.indexOf(handle as (typeof this.queue)[number]);
    if (i >= 0) this.queue.splice(i, 1);
  }

  /** Lets every pending promise settle (storage here is in memory: nothing waits on real I/O). */
  static async settle(): Promise<void> {
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  }

  /** Runs timers in time order until `done` holds or virtual time passes `limitMs` from now. */
  async run(done: () => boolean, limitMs: number): Promise<boolean> {
    const end = this.time + limitMs;
    for (;;) {
      await SimClock.settle();
      if (done()) return true;
      this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.queue.shift();
      if (!next || next.at > end) {
        if (next) this.queue.unshift(next);
        return done();
      }
      this.time = Math.max(this.time, next.at);
      next.fn();
    }
  }
}

/**
 * A network link in the simulation: each direction delivers in order after a random delay, as
 * TCP does; `cut` loses whatever is still in flight, both ways, and closes both ends — the
 * only way frames get lost, since a WebSocket never drops or reorders within a connection.
 * Frames of a cut connection may still be handled after a newer connection's (reorder across
 * connections), and clients resend what was not acknowledged (duplicates).
 */
export class SimLink {
  readonly client: SimEnd;
  readonly server: SimEnd;

  constructor(clock: SimClock, rng: SeededRng, maxDelayMs: number) {
    this.client = new SimEnd(clock, rng, maxDelayMs);
    this.server = new SimEnd(clock, rng, maxDelayMs);
    this.client.peer = this.server;
    this.server.peer = this.client;
  }

  cut(): void {
    this.client.lose();
    this.server.lose();
  }
}

class SimEnd extends BaseTransport implements Transport {
  peer!: SimEnd;
  private lastDelivery = 0;
  private readonly inFlight = new Set<unknown>();

  constructor(
    private readonly clock: SimClock,
    private readonly rng: SeededRng,
    private readonly maxDelayMs: number,
  ) {
    super();
  }

  send(frame: Uint8Array): void {
    this.checkOpen();
    const copy = frame.slice();
    const at = Math.max(this.lastDelivery, this.clock.now() + this.rng.int(this.maxDelayMs + 1));
    this.lastDelivery = at;
    const handle = this.clock.setTimeout(() => {
      this.inFlight.delete(handle);
      this.peer.deliver(copy);
    }, at - this.clock.now());
    this.inFlight.add(handle);
  }

  close(info: CloseInfo = NORMAL_CLOSE): void {
    if (!this.closed(info)) return;
    // Frames already sent arrive first, then the other end learns of the close.
    const at = Math.max(this.lastDelivery, this.clock.now());
    this.clock.setTimeout(() => this.peer.closed(info), at - this.clock.now());
  }

  /** The connection breaks: nothing in flight arrives, and this end closes now. */
  lose(): void {
    for (const h of this.inFlight) this.clock.clearTimeout(h);
    this.inFlight.clear();
    this.closed({ code: 1006, reason: 'connection lost' });
  }
}
