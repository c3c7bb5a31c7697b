import type { Doc } from './CollectionState.js';
import type { Transaction } from './Transaction.js';

/**
 * A write of this replica's to be made again by value, as a new change: the properties it
 * wrote (`keys`) and the document's JSON when it was taken (`value`; undefined for a removed
 * document). A sync client makes one when the server refused a change for its clock alone,
 * and for every document an abandoned replica id had written that the server never got (a
 * device restored from a backup, see `Database.fork`).
 */
export interface Rewrite {
  readonly collection: string;
  readonly id: string;
  readonly keys: readonly string[];
  readonly value: Doc | undefined;
}

/** Writes `r` again onto the document as it is now: its keys take their values (or go). */
export function applyRewrite(tx: Transaction, r: Rewrite): void {
  const { collection, id, keys, value } = r;
  if (!value) {
    tx.remove(collection, id);
    return;
  }
  if (!tx.get(collection, id)) {
    tx.upsert(collection, structuredClone(value) as Record<string, unknown>);
    return;
  }
  tx.update(collection, id, (draft) => {
    for (const k of keys) {
      if (k === '_id') continue;
      if (Object.hasOwn(value, k)) draft[k] = structuredClone(value[k]);
      else delete draft[k];
    }
  });
}

const utf8 = new TextEncoder();

export function encodeRewrites(rewrites: readonly Rewrite[]): Uint8Array {
  return utf8.encode(JSON.stringify(rewrites));
}

export function decodeRewrites(bytes: Uint8Array | undefined): Rewrite[] {
  return bytes && bytes.length > 0 ? (JSON.parse(new TextDecoder().decode(bytes)) as Rewrite[]) : [];
}
