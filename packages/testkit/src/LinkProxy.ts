import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy a test puts on one link between two processes, to cut it and heal it: a real
 * network partition for that link (connections reset, new ones refused while cut), with both
 * processes left untouched. One proxy per direction gives asymmetric partitions too.
 */
export class LinkProxy {
  private readonly sockets = new Set<Socket>();
  private cutOff = false;

  private constructor(
    private readonly server: Server,
    readonly target: { host: string; port: number },
  ) {
    server.on('connection', (client) => {
      if (this.cutOff) {
        client.destroy();
        return;
      }
      const upstream = connect(target.port, target.host);
      for (const [a, b] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        this.sockets.add(a);
        a.on('error', () => b.destroy());
        a.on('close', () => {
          this.sockets.delete(a);
          b.destroy();
        });
        a.pipe(b);
      }
    });
  }

  /** A proxy on a free port of 127.0.0.1 forwarding to `target` (a `ws://` or `host:port` address). */
  static async start(target: string): Promise<LinkProxy> {
    const url = new URL(target.includes('://') ? target : `tcp://${target}`);
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return new LinkProxy(server, { host: url.hostname, port: Number(url.port) });
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The address to dial instead of the target, in its scheme. */
  url(scheme = 'ws'): string {
    return `${scheme}://127.0.0.1:${this.port}`;
  }

  get isCut(): boolean {
    return this.cutOff;
  }

  /** Resets every connection through the proxy and refuses new ones until `heal`. */
  cut(): void {
    this.cutOff = true;
    for (const s of this.sockets) s.destroy();
  }

  heal(): void {
    this.cutOff = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((r) => this.server.close(r));
  }
}
