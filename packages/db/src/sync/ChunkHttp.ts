import { sha256 } from '@noble/hashes/sha2.js';
import type { ChunkRef } from './Protocol.js';
import { SyncError } from './SyncError.js';

/**
 * Fetches one chunk of an initial snapshot named in a manifest (`GET <base>/sync/chunks/<hash>`)
 * and checks its bytes against the name: a chunk is accepted only if it is what the server
 * named, whatever cache or CDN served it. Any failure (the network, a 404 for a chunk no longer
 * kept, a wrong hash) is a `SyncError`: the client drops the link and resumes the snapshot,
 * after the last chunk it applied, on the next one.
 */
export async function fetchChunk(
  base: string,
  ref: ChunkRef,
  token: string,
  maxBytes: number,
): Promise<Uint8Array> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  let bytes: Uint8Array;
  try {
    const res = await fetch(`${base}/sync/chunks/${ref.hash}`, { headers });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`the server answered ${res.status}`);
    }
    const length = Number(res.headers.get('content-length') ?? ref.bytes);
    if (length > maxBytes) throw new Error(`${length} bytes`);
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    throw new SyncError('UNAVAILABLE', `snapshot chunk ${ref.hash}: ${(e as Error).message}`);
  }
  if ((await digest(bytes)) !== ref.hash)
    throw new SyncError('BAD_MESSAGE', `snapshot chunk ${ref.hash}: wrong hash`);
  return bytes;
}

/** SHA-256 in hex: native where the page is a secure context (and in Node), else @noble/hashes. */
async function digest(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  const hash = subtle
    ? new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))
    : sha256(bytes);
  let hex = '';
  for (const b of hash) hex += b.toString(16).padStart(2, '0');
  return hex;
}
