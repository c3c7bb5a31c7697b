/// <reference lib="dom" />
import { DecodeError } from '@concord/crdt';

/**
 * Inflation on a thread beside the page's: one dedicated worker, made on first use, running the
 * browser's native `DecompressionStream`. Profiled in Chromium, inflating a 100,000-product
 * initial sync on the page's thread took a tenth of it — the stream hands its output over in
 * pieces, each an await and a copy there — while the page's thread also parses, installs and
 * renders; in a worker it runs beside them, and the inflated bytes come back transferred, not
 * copied.
 *
 * The worker never holds more than the declared size (a hostile frame costs no more memory than
 * an honest one of its length); what it finds amiss comes back as the `DecodeError` it is.
 * Where no worker can be made (no `Worker`, a policy refusing `blob:` scripts), or one fails,
 * `inflateInWorker` gives undefined or rejects with a plain `Error`: callers inflate in place.
 */
const SOURCE = `
onmessage = async ({ data: { id, packed, size } }) => {
  const out = new Uint8Array(size);
  let at = 0;
  try {
    // The bytes as a stream of one chunk, in this thread: a Blob's stream reads them back
    // through the browser's process, which made inflating a reload's 32 MB take 100–320 ms
    // instead of 80–110 (Chromium, measured).
    const input = new ReadableStream({ start(c) { c.enqueue(packed); c.close(); } });
    const reader = input.pipeThrough(new DecompressionStream('deflate-raw')).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (at + value.length > size) {
        await reader.cancel();
        postMessage({ id, code: 'BAD_LENGTH', error: 'inflated more than the declared ' + size + ' bytes' });
        return;
      }
      out.set(value, at);
      at += value.length;
    }
  } catch (e) {
    postMessage({ id, code: 'BAD_VALUE', error: 'corrupt deflate stream: ' + (e && e.message) });
    return;
  }
  postMessage({ id, out, at }, [out.buffer]);
};
`;

type Reply =
  | { id: number; out: Uint8Array; at: number; code?: undefined }
  | { id: number; code: 'BAD_LENGTH' | 'BAD_VALUE'; error: string };

let worker: Worker | undefined;
let unavailable = typeof Worker === 'undefined' || typeof DecompressionStream === 'undefined';
let next = 0;
const waiting = new Map<number, { resolve(bytes: Uint8Array): void; reject(e: Error): void }>();
let inflated = 0;

/** Whether inflation can run beside this thread (a browser's page). */
export function canInflateInWorker(): boolean {
  return !unavailable;
}

/** How many messages the worker has inflated (what tests tell the worker's path by). */
export function workerInflations(): number {
  return inflated;
}

/**
 * `packed` (a raw deflate stream) inflated in the worker into at most `size` bytes: the bytes
 * it gave (checking their count is the caller's); undefined if there is no worker to ask.
 */
export function inflateInWorker(packed: Uint8Array, size: number): Promise<Uint8Array> | undefined {
  const w = startInflateWorker();
  if (!w) return undefined;
  return new Promise((resolve, reject) => {
    const id = next++;
    waiting.set(id, { resolve, reject });
    w.postMessage({ id, packed, size });
  });
}

/**
 * The worker, made if need be; undefined where none can run. Called ahead of the first use too:
 * a new thread ran its first message ~80 ms after it was made (Chromium, by hand), which a
 * reload of 100,000 documents waited for, idle.
 */
export function startInflateWorker(): Worker | undefined {
  if (worker || unavailable) return worker;
  try {
    worker = new Worker(URL.createObjectURL(new Blob([SOURCE], { type: 'text/javascript' })));
  } catch {
    unavailable = true;
    return undefined;
  }
  worker.onmessage = ({ data }: MessageEvent<Reply>) => {
    const w = waiting.get(data.id);
    waiting.delete(data.id);
    if (data.code !== undefined) w?.reject(new DecodeError(data.code, data.error, 0));
    else {
      inflated++;
      w?.resolve(data.out.subarray(0, data.at));
    }
  };
  // A worker that cannot run (a script refused, a crash): what waits is failed, and from now on
  // callers inflate in place.
  worker.onerror = () => {
    unavailable = true;
    worker = undefined;
    for (const w of waiting.values()) w.reject(new Error('the inflating worker failed'));
    waiting.clear();
  };
  return worker;
}
