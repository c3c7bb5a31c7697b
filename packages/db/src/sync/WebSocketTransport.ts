import { BaseTransport, type CloseInfo, NORMAL_CLOSE } from './Transport.js';

/**
 * The part of a WebSocket this transport uses: the browser's `WebSocket` and Node's `ws` both
 * have it, so one class serves both (the package imports no WebSocket library itself).
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: 'open' | 'error', listener: () => void): void;
}

const OPEN = 1;

/** A transport over an open WebSocket: one binary message per frame. */
export class WebSocketTransport extends BaseTransport {
  constructor(private readonly socket: WebSocketLike) {
    super();
    // `ws` hands over the bytes it received as they are ('nodebuffer', a Node Buffer); in
    // 'arraybuffer' mode it copies each message out. A browser knows only 'arraybuffer' (and
    // 'blob'): it ignores the first assignment.
    socket.binaryType = 'nodebuffer';
    if (socket.binaryType !== 'nodebuffer') socket.binaryType = 'arraybuffer';
    socket.addEventListener('message', (event) => {
      const data = event.data;
      // A plain view of a Buffer: a Buffer's `slice` shares memory where a Uint8Array's copies.
      if (data instanceof Uint8Array)
        this.deliver(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      else if (data instanceof ArrayBuffer) this.deliver(new Uint8Array(data));
      // Text frames are not part of the protocol: the peer is broken or hostile.
      else this.close({ code: 1003, reason: 'binary frames only' });
    });
    // A protocol violation (an oversized frame, bad framing) is reported as an error and then a
    // close; listening keeps `ws` from treating it as unhandled and taking the process down.
    socket.addEventListener('error', () => undefined);
    socket.addEventListener('close', (event) => {
      this.closed({ code: event.code, reason: event.reason });
    });
  }

  /** Opens `url` and resolves with the transport once connected; rejects if the connection fails. */
  static connect(url: string, create: (url: string) => WebSocketLike): Promise<WebSocketTransport> {
    const socket = create(url);
    return new Promise((resolve, reject) => {
      socket.addEventListener('open', () => resolve(new WebSocketTransport(socket)));
      socket.addEventListener('error', () => reject(new Error(`cannot connect to ${url}`)));
    });
  }

  override get buffered(): number {
    return this.socket.bufferedAmount;
  }

  send(frame: Uint8Array): void {
    this.checkOpen();
    if (this.socket.readyState !== OPEN) {
      this.closed({ code: 1006, reason: 'connection lost' });
      this.checkOpen();
    }
    this.socket.send(frame);
  }

  close(info: CloseInfo = NORMAL_CLOSE): void {
    if (this.closed(info)) this.socket.close(info.code, info.reason);
  }
}
