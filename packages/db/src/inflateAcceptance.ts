import { DecodeError, FORMAT_VERSION } from '@concord/crdt';
import { Encoder } from '@concord/crdt/internal';
import { deflateSync } from 'fflate';
import { deflateMessage, inflateMessage, inflateMessageAsync } from './Deflated.js';
import { canInflateInWorker, workerInflations } from './InflateWorker.js';
import { MESSAGE_KINDS } from './messageKinds.js';

/**
 * What `inflateMessageAsync` must do wherever it runs, as executable checks: run in Node (zlib)
 * by the db's tests and in Chromium (a worker beside the page) by the page's e2e test.
 */
export const INFLATE_ACCEPTANCE: ReadonlyArray<{ readonly name: string; run(): Promise<void> }> = [
  {
    name: 'a deflated message inflates to what inflateMessage gives; one not deflated comes back as it is',
    async run() {
      const before = workerInflations();
      const big = new Uint8Array(50_000).map((_, i) => (i * 7) % 13);
      const packed = deflateMessage(Uint8Array.of(FORMAT_VERSION, 0, ...big));
      check(packed[1] === MESSAGE_KINDS.deflated, 'the test message is not deflated');
      check(same(await inflateMessageAsync(packed), inflateMessage(packed)), 'inflated differently');
      const message = Uint8Array.of(FORMAT_VERSION, 0, 1, 2);
      check((await inflateMessageAsync(message)) === message, 'a message not deflated was changed');
      // In a browser page, beside the page's thread.
      check(!canInflateInWorker() || workerInflations() === before + 1, 'the worker did not inflate it');
    },
  },
  {
    name: 'more or less than declared, a corrupt stream, a deflated message inside: refused with their codes',
    async run() {
      const ok = deflateSync(new Uint8Array(2000));
      const code = async (bytes: Uint8Array) => {
        try {
          await inflateMessageAsync(bytes);
        } catch (e) {
          check(e instanceof DecodeError, `not a DecodeError: ${e}`);
          return (e as DecodeError).code;
        }
        return 'no error';
      };
      const inner = deflated(2000, ok);
      const got = [
        await code(deflated(1000, ok)), // more than declared
        await code(deflated(3000, ok)), // less
        await code(deflated(2000, Uint8Array.of(0xff, 0xff, 0xff))), // corrupt
        await code(deflated(inner.length, deflateSync(inner))), // deflated inside
      ].join();
      check(got === 'BAD_LENGTH,BAD_LENGTH,BAD_VALUE,BAD_TAG', `codes ${got}`);
    },
  },
];

/** A deflated message by hand: header, declared size, then `payload` as the deflate stream. */
function deflated(size: number, payload: Uint8Array): Uint8Array {
  const enc = new Encoder();
  enc.uint(size);
  enc.bytes(payload);
  return enc.finish(FORMAT_VERSION, MESSAGE_KINDS.deflated);
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`inflate acceptance: ${what}`);
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
