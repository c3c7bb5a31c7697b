import { BaseTransport, type CloseInfo, NORMAL_CLOSE } from './Transport.js';

/**
 * One end of an in-memory link. Frames are copied and delivered on a microtask, in order — not on
 * timers, which make tests slow and flaky (automerge-repo's lesson) — so a test or a simulation
 * controls time entirely.
 */
export class MemoryTransport extends BaseTransport {
  private peer: MemoryTransport | undefined;

  /** Two connected ends. */
  static pair(): [MemoryTransport, MemoryTransport] {
    const a = new MemoryTransport();
    const b = new MemoryTransport();
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  send(frame: Uint8Array): void {
    this.checkOpen();
    const copy = frame.slice();
    const peer = this.peer!;
    queueMicrotask(() => peer.deliver(copy));
  }

  close(info: CloseInfo = NORMAL_CLOSE): void {
    if (!this.closed(info)) return;
    // Frames already sent still arrive first, as on a socket that closes cleanly.
    const peer = this.peer!;
    queueMicrotask(() => peer.closed(info));
  }
}
