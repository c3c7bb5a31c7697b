import { DecodeError, FORMAT_VERSION } from '@concord/crdt';
import { Decoder, Encoder } from '@concord/crdt/internal';
import { deflateSync, inflateSync } from 'fflate';
import { canInflateInWorker, inflateInWorker, startInflateWorker } from './InflateWorker.js';
import { MESSAGE_KINDS } from './messageKinds.js';

const DEFLATED = MESSAGE_KINDS.deflated;
/** Smaller messages are sent as they are: deflate's header and tables would outweigh the gain. */
const MIN_DEFLATE_BYTES = 1024;
/** DEFLATE expands at most 1032:1 (RFC 1951's longest match per bit), so a declared size beyond that is a lie. */
const MAX_RATIO = 1032;

/**
 * Node's zlib when there is one — native code, and at the same level a few percent smaller than
 * fflate (a 100,000-product initial sync went 3.2 → 2.9 MB in bench/RESULTS.md); the sync server
 * deflates every snapshot chunk — and fflate everywhere else.
 * `getBuiltinModule` is synchronous and invisible to bundlers, so browsers never see it.
 */
const zlib = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.('node:zlib') as typeof import('node:zlib') | undefined;

/** Whether `inflateMessageAsync` inflates beside this thread (in browsers: `InflateWorker`). */
export const INFLATES_BESIDE = !zlib && canInflateInWorker();

/** Gets `inflateMessageAsync` ready ahead of a use that is sure to come (a storage about to load). */
export function prepareInflating(): void {
  if (INFLATES_BESIDE) startInflateWorker();
}

/** zlib's default: ~3× smaller than the stored forms (level 3 is twice as fast and 40% larger). */
const LEVEL = 6;

function deflateRaw(message: Uint8Array): Uint8Array {
  return zlib ? zlib.deflateRawSync(message, { level: LEVEL }) : deflateSync(message, { level: LEVEL });
}

/**
 * Inflates into at most `size + 1` bytes — one byte of room past `size` tells a longer stream
 * from an exact one (fflate stops silently where its buffer ends) — or throws (`BAD_LENGTH` when
 * zlib finds it longer).
 */
function inflateRaw(packed: Uint8Array, size: number): Uint8Array {
  if (!zlib) return inflateSync(packed, { out: new Uint8Array(size + 1) });
  let out: Uint8Array;
  try {
    // One output buffer of the declared size (and the byte past it): zlib's default of 16 KiB
    // chunks, concatenated at the end, was a copy and 256 allocations per 4 MB snapshot chunk —
    // 7% of the CPU of a Node store's initial sync (profiled), and its garbage.
    out = zlib.inflateRawSync(packed, { maxOutputLength: size + 1, chunkSize: Math.max(64, size + 1) });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new DecodeError('BAD_LENGTH', `inflated more than the declared ${size} bytes`, 0);
    throw e;
  }
  // A plain Uint8Array over the Buffer's bytes: the documents read from it are views of it, and
  // a view of a Buffer would be a Buffer, whose `slice` does not copy.
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/**
 * Deflates a codec message (RFC 1951) when it is large enough to gain: the
 * result is a message of its own kind, `version  DEFLATED  0  rawLength  deflate(message)`.
 * A change batch or a snapshot repeats field names, ids and value shapes in every document, so
 * deflate takes them to a fifth or less — the way Automerge compresses its columns.
 */
export function deflateMessage(message: Uint8Array): Uint8Array {
  return message.length < MIN_DEFLATE_BYTES ? message : deflatedMessage(message, deflateRaw(message));
}

/**
 * `deflateMessage` off this thread where Node's zlib runs it on libuv's pool (elsewhere, here):
 * the same bytes. A snapshot chunk is megabytes, ~20 ms of deflate that held the sync server's
 * event loop — every other client's updates waited behind a store's first sync.
 */
export async function deflateMessageAsync(message: Uint8Array): Promise<Uint8Array> {
  if (message.length < MIN_DEFLATE_BYTES) return message;
  if (!zlib) return deflatedMessage(message, deflateRaw(message));
  const deflate = zlib.deflateRaw;
  const packed = await new Promise<Uint8Array>((resolve, reject) =>
    deflate(message, { level: LEVEL }, (e, out) => (e ? reject(e) : resolve(out))),
  );
  return deflatedMessage(message, packed);
}

/** The message of kind DEFLATED holding `packed`, `message` deflated; `message` itself if that gained nothing. */
function deflatedMessage(message: Uint8Array, packed: Uint8Array): Uint8Array {
  if (packed.length >= message.length) return message;
  const enc = new Encoder();
  enc.uint(message.length);
  enc.bytes(packed);
  return enc.finish(FORMAT_VERSION, DEFLATED);
}

/** A deflated message's declared size and deflate stream; undefined when `bytes` is not deflated. */
function deflated(bytes: Uint8Array): { size: number; packed: Uint8Array } | undefined {
  if (bytes.length < 2 || bytes[0] !== FORMAT_VERSION || bytes[1] !== DEFLATED) return undefined;
  const dec = new Decoder(bytes);
  dec.header(FORMAT_VERSION);
  const size = dec.uint();
  const packed = dec.bytes(dec.remaining);
  // The output buffer is the declared size, bounded by what the input can expand to, so a
  // hostile size costs no more memory than an honest one of the same length.
  if (size > packed.length * MAX_RATIO)
    dec.fail('BAD_LENGTH', `declared size ${size} beyond what deflate yields`);
  return { size, packed };
}

/** How large the message is once inflated (its own length when not deflated), without inflating it. */
export function inflatedSize(bytes: Uint8Array): number {
  return deflated(bytes)?.size ?? bytes.length;
}

/** The message inside a deflated one, or `bytes` itself when it is not deflated. */
export function inflateMessage(bytes: Uint8Array): Uint8Array {
  const d = deflated(bytes);
  if (!d) return bytes;
  let raw: Uint8Array;
  try {
    raw = inflateRaw(d.packed, d.size);
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError('BAD_VALUE', `corrupt deflate stream: ${(e as Error).message}`, 0);
  }
  return checkInflated(raw, d.size);
}

/**
 * `inflateMessage`, in a browser on a thread beside the page's (`InflateWorker`), so that a frame
 * is inflated while the one before it is applied: the same checks, the same errors. Elsewhere
 * (Node has zlib), or where no worker can be made, as `inflateMessage`.
 */
export async function inflateMessageAsync(bytes: Uint8Array): Promise<Uint8Array> {
  const d = INFLATES_BESIDE ? deflated(bytes) : undefined;
  const inWorker = d && inflateInWorker(d.packed, d.size);
  if (!inWorker) return inflateMessage(bytes);
  let raw: Uint8Array;
  try {
    raw = await inWorker;
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    return inflateMessage(bytes); // the worker is gone: in place
  }
  return checkInflated(raw, d.size);
}

function checkInflated(raw: Uint8Array, size: number): Uint8Array {
  if (raw.length !== size)
    throw new DecodeError('BAD_LENGTH', `inflated ${raw.length} bytes, declared ${size}`, 0);
  if (raw[1] === DEFLATED)
    throw new DecodeError('BAD_TAG', 'a deflated message inside a deflated message', 0);
  return raw;
}
