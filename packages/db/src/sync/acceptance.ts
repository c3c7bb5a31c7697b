import type { CloseInfo, Transport } from './Transport.js';

/** Makes two connected ends of a fresh link. */
export type TransportFactory = () => Promise<[Transport, Transport]>;

export interface TransportCase {
  readonly name: string;
  run(link: TransportFactory): Promise<void>;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`transport acceptance: ${what}`);
}

/** Resolves with the next `n` frames `t` receives. */
function receive(t: Transport, n: number): Promise<Uint8Array[]> {
  return new Promise((resolve) => {
    const got: Uint8Array[] = [];
    const stop = t.onMessage((f) => {
      got.push(f);
      if (got.length === n) {
        stop();
        resolve(got);
      }
    });
  });
}

const closeOf = (t: Transport) => new Promise<CloseInfo>((resolve) => t.onClose(resolve));
const same = (a: Uint8Array | undefined, b: Uint8Array) =>
  a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
const frame = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

/**
 * The contract of `Transport` as executable checks, run over every transport (memory, WebSocket):
 * framework-free, so it runs in Node and in a browser alike.
 */
export const TRANSPORT_ACCEPTANCE: readonly TransportCase[] = [
  {
    name: 'frames arrive whole and in order, both ways',
    async run(link) {
      const [a, b] = await link();
      const frames = [frame(1, 1), frame(0, 2), frame(300, 3), frame(70_000, 4)];
      const atB = receive(b, frames.length);
      const atA = receive(a, frames.length);
      for (const f of frames) a.send(f);
      for (const f of frames) b.send(f);
      const [gotB, gotA] = await Promise.all([atB, atA]);
      check(
        frames.every((f, i) => same(gotB[i], f)),
        'frames from a garbled or reordered',
      );
      check(
        frames.every((f, i) => same(gotA[i], f)),
        'frames from b garbled or reordered',
      );
      a.close();
    },
  },
  {
    name: 'a large frame (4 MiB) arrives intact',
    async run(link) {
      const [a, b] = await link();
      const big = frame(4 << 20, 6);
      const got = receive(b, 1);
      a.send(big);
      check(same((await got)[0], big), 'large frame garbled');
      a.close();
    },
  },
  {
    name: 'closing tells the other side once, with code and reason; sending afterwards throws CLOSED',
    async run(link) {
      const [a, b] = await link();
      let closes = 0;
      b.onClose(() => closes++);
      const atB = closeOf(b);
      a.close({ code: 4001, reason: 'bye' });
      a.close({ code: 4002, reason: 'again' });
      const info = await atB;
      check(info.code === 4001 && info.reason === 'bye', `close info ${JSON.stringify(info)}`);
      check(a.state === 'closed' && b.state === 'closed', 'not closed on both sides');
      await new Promise((r) => setTimeout(r, 20));
      check(closes === 1, `onClose called ${closes} times`);
      for (const t of [a, b]) {
        let code = '';
        try {
          t.send(frame(1, 7));
        } catch (e) {
          code = (e as { code?: string }).code ?? '';
        }
        check(code === 'CLOSED', 'send after close did not throw CLOSED');
      }
    },
  },
  {
    name: 'frames sent before a close arrive before it; an unsubscribed listener hears nothing',
    async run(link) {
      const [a, b] = await link();
      const heard: number[] = [];
      const silent: number[] = [];
      b.onMessage((f) => heard.push(f[0]!));
      const stop = b.onMessage((f) => silent.push(f[0]!));
      stop();
      const closed = closeOf(b);
      a.send(Uint8Array.of(1));
      a.send(Uint8Array.of(2));
      a.close();
      await closed;
      check(heard.join() === '1,2', `heard ${heard.join()} before the close`);
      check(silent.length === 0, 'unsubscribed listener was called');
    },
  },
  {
    // A link may be lost between being opened and its user listening (a sync client awaits
    // it): a listener added after the close must still hear of it, or the user waits forever.
    name: 'a close listener added after the close is called, once',
    async run(link) {
      const [a, b] = await link();
      a.close({ code: 4003, reason: 'early' });
      await closeOf(b);
      const late = await Promise.race([
        closeOf(b),
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 200)),
      ]);
      check(late !== undefined, 'a listener added after the close never heard of it');
    },
  },
];
