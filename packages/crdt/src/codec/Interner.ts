import type { ReplicaId } from '../ReplicaId.js';
import { asciiOf, hexOf } from './Decoder.js';

const MAX_HEX_IDS = 4096;
const RECENT_SLOTS = 1024;
const MAX_RECENT_LENGTH = 24;

/**
 * Strings a `Decoder` read lately, kept by their owner — a database, a sync server — and handed
 * to the decoders it makes, so nothing is shared between owners in one process. Both tables are
 * bounded and hold only what the bytes spell: a hit gives the string a miss would build.
 */
export class Interner {
  /**
   * Hex replica ids, by their first four bytes (then compared in full): every message names its
   * replicas, a sync client reads thousands naming the same few, and building the string costs
   * more than the rest of a small message.
   */
  private readonly hexIds = new Map<number, { raw: Uint8Array; id: ReplicaId }>();
  /**
   * Short ASCII strings, by a hash of their bytes: field names, collection names and enumerated
   * values repeat in every document of a collection. Handing out the same string object spares
   * building it, lets every document's map share its key strings, and lets lookups by them use
   * the hash V8 keeps on a string. A slot holds the last string that hashed there; a miss just
   * replaces it.
   */
  private readonly recent = new Array<string | undefined>(RECENT_SLOTS);

  /** The hex id in `buf[at, at + 16)`. */
  hexId(buf: Uint8Array, at: number): ReplicaId {
    const key = ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
    const hit = this.hexIds.get(key);
    if (hit && sameBytes(hit.raw, buf, at)) return hit.id;
    const id = hexOf(buf, at);
    if (this.hexIds.size >= MAX_HEX_IDS) this.hexIds.clear();
    // A copy, never `slice`: on a Node Buffer (what zlib and sockets hand out) that is a view,
    // and would keep the whole message alive as long as the entry.
    this.hexIds.set(key, { raw: Uint8Array.from(buf.subarray(at, at + 16)), id });
    return id;
  }

  /** The `n` ASCII bytes at `at`, as a string. */
  ascii(buf: Uint8Array, at: number, n: number): string {
    if (n > MAX_RECENT_LENGTH) return asciiOf(buf, at, n);
    const slot = (n * 31 + buf[at]! * 7 + buf[at + (n >> 1)]! * 13 + buf[at + n - 1]!) & (RECENT_SLOTS - 1);
    const hit = this.recent[slot];
    if (hit !== undefined && hit.length === n) {
      let i = 0;
      while (i < n && hit.charCodeAt(i) === buf[at + i]) i++;
      if (i === n) return hit;
    }
    const s = asciiOf(buf, at, n);
    this.recent[slot] = s;
    return s;
  }
}

function sameBytes(raw: Uint8Array, buf: Uint8Array, at: number): boolean {
  for (let i = 0; i < 16; i++) if (raw[i] !== buf[at + i]) return false;
  return true;
}
