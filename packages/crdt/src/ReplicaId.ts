import { InvalidArgumentError } from './errors.js';

/**
 * The identity of one replica (one database instance). Normally 128 random bits written as 32
 * lowercase hex characters — the codec stores those in 16 bytes — but any non-empty string of
 * at most 255 UTF-8 bytes is accepted, which keeps tests and examples readable ('a', 'store-42').
 */
export type ReplicaId = string & { readonly __brand: 'ReplicaId' };

const MAX_REPLICA_ID_BYTES = 255;
const utf8 = new TextEncoder();

export function replicaId(id: string): ReplicaId {
  if (id.length === 0 || utf8.encode(id).length > MAX_REPLICA_ID_BYTES) {
    throw new InvalidArgumentError(
      'BAD_REPLICA_ID',
      `replica id must be 1..${MAX_REPLICA_ID_BYTES} UTF-8 bytes`,
    );
  }
  return id as ReplicaId;
}

/** A fresh random 128-bit replica id. `randomBytes` is injectable so tests stay deterministic. */
export function newReplicaId(
  randomBytes: (n: number) => Uint8Array = (n) => globalThis.crypto.getRandomValues(new Uint8Array(n)),
): ReplicaId {
  let hex = '';
  for (const b of randomBytes(16)) hex += b.toString(16).padStart(2, '0');
  return hex as ReplicaId;
}

export { MAX_REPLICA_ID_BYTES };
