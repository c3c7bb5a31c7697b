import type { VersionVector } from '@concord/crdt';
import { DbError, SyncError, type Transport } from '@concord/db';
import { encodeMessage, type ServerMessage } from '@concord/db/internal';
import type { Outgoing } from './Selection.js';
import type { SessionHost } from './SyncServer.js';

/** Largest update message body, in changes and document states. */
export const UPDATE_ITEMS = 2000;

/**
 * A session's sending side: messages encoded and counted, nothing sent once the session ended
 * or the link broke, large updates split, and backpressure — waiting while the client has not
 * taken what was sent, and ending a client that stopped reading.
 */
export class Outbound {
  constructor(
    private readonly host: SessionHost,
    private readonly transport: Transport,
    readonly isClosed: () => boolean,
    private readonly fail: (e: SyncError) => void,
  ) {}

  send(m: ServerMessage): void {
    if (this.isClosed() || this.transport.state !== 'open') return;
    this.sendFrame(encodeMessage(m));
  }

  sendFrame(frame: Uint8Array): void {
    if (this.isClosed() || this.transport.state !== 'open') return;
    this.host.metrics.bytesOut.inc(frame.length);
    try {
      this.transport.send(frame);
    } catch (e) {
      // The link broke under us; its close ends the session.
      if (!(e instanceof DbError && e.code === 'CLOSED')) throw e;
    }
  }

  /** Bytes sent the client has not taken yet. */
  get buffered(): number {
    return this.transport.buffered;
  }

  /** Waits until the client has taken most of what was sent; false if the session ended (or was ended for lagging). */
  async drained(): Promise<boolean> {
    const low = this.host.limits.maxBuffered / 4;
    const giveUp = this.host.now() + this.host.limits.heartbeatMs;
    while (!this.isClosed() && this.transport.buffered > low) {
      if (this.host.now() > giveUp) {
        this.fail(new SyncError('SLOW_CONSUMER', 'the client stopped reading'));
        return false;
      }
      await this.host.sleep(5);
    }
    // Let other sessions and messages run between chunks.
    await this.host.turn();
    return !this.isClosed();
  }

  /** Sends `out` as updates of at most `UPDATE_ITEMS` each, waiting for the client between them. */
  async sendUpdates(out: Outgoing, version: VersionVector | undefined): Promise<void> {
    this.host.metrics.changesOut.inc(out.changes.length + out.docs.length);
    const { changes, docs, evict } = out;
    // Large catch-ups go in pieces: no message near the size limit, and other sessions run between.
    while (changes.length > UPDATE_ITEMS || docs.length > UPDATE_ITEMS) {
      this.send({
        type: 'update',
        changes: changes.splice(0, UPDATE_ITEMS),
        docs: docs.splice(0, UPDATE_ITEMS),
        evict: [],
        version: undefined,
      });
      if (!(await this.drained())) return;
    }
    this.send({ type: 'update', changes, docs, evict, version });
  }
}
