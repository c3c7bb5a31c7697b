import { DbError } from '../errors.js';

/** Why a transport closed: a WebSocket close code (1000 normal, 4000+ Concord's own) and a reason. */
export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

/**
 * How two sync endpoints exchange messages: whole binary frames, in order, until either side
 * closes. Sessions are written against this alone, so the same protocol runs over a WebSocket,
 * in memory (tests and the simulation) or any other link. Every implementation passes
 * `TRANSPORT_ACCEPTANCE`.
 */
export interface Transport {
  readonly state: 'open' | 'closed';
  /** Bytes sent but not yet handed to the network: how far the peer lags behind (backpressure). */
  readonly buffered: number;
  /**
   * Sends one frame; the receiver gets a copy. The frame is the transport's from then on (it may
   * hold it until the network takes it): the caller never changes it. Throws `CLOSED` once closed.
   */
  send(frame: Uint8Array): void;
  /** Frames as they arrive, in order; returns the unsubscribe. */
  onMessage(listener: (frame: Uint8Array) => void): () => void;
  /**
   * Called once, when either side closes or the link is lost (soon after, if added once closed:
   * a link can be lost before its user listens); returns the unsubscribe.
   */
  onClose(listener: (info: CloseInfo) => void): () => void;
  /** Closes both directions; the other side's `onClose` gets `info`. Closing twice does nothing. */
  close(info?: CloseInfo): void;
}

export const NORMAL_CLOSE: CloseInfo = { code: 1000, reason: 'closed' };

/** The listener bookkeeping every transport shares: subscribe, deliver, close once. */
export abstract class BaseTransport implements Transport {
  private readonly messageListeners = new Set<(frame: Uint8Array) => void>();
  private readonly closeListeners = new Set<(info: CloseInfo) => void>();
  private closedWith: CloseInfo | undefined;

  get state(): 'open' | 'closed' {
    return this.closedWith ? 'closed' : 'open';
  }

  get buffered(): number {
    return 0;
  }

  abstract send(frame: Uint8Array): void;
  abstract close(info?: CloseInfo): void;

  onMessage(listener: (frame: Uint8Array) => void): () => void {
    this.messageListeners.add(listener);
    return () => this.messageListeners.delete(listener);
  }

  onClose(listener: (info: CloseInfo) => void): () => void {
    const info = this.closedWith;
    if (info) {
      let cancelled = false;
      queueMicrotask(() => {
        if (!cancelled) listener(info);
      });
      return () => {
        cancelled = true;
      };
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  protected checkOpen(): void {
    if (this.closedWith) throw new DbError('CLOSED', `transport closed: ${this.closedWith.reason}`);
  }

  /** Hands a received frame to the listeners (none after close). */
  protected deliver(frame: Uint8Array): void {
    if (this.closedWith) return;
    for (const l of this.messageListeners) l(frame);
  }

  /** Marks the transport closed and tells the listeners, once; false if it already was. */
  protected closed(info: CloseInfo): boolean {
    if (this.closedWith) return false;
    this.closedWith = info;
    for (const l of this.closeListeners) l(info);
    this.messageListeners.clear();
    this.closeListeners.clear();
    return true;
  }
}
