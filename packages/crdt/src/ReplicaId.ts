import { InvalidArgumentError } from './errors.js';

/**
 * The identity of one replica (one database instance). Normally 128 random bits written as 32
 * lowercase hex characters — the codec stores those in 16 bytes — but any non-empty string of
 * at most 255 UTF-8 bytes is accepted, which keeps tests and examples readable ('a', 'store-42').
 */
export type ReplicaId = string & { readonly __brand: 'ReplicaId' };

const MAX_REPLICA_ID_BYTES = 255;
const utf8 = new TextEncoder();

/** Half of a surrogate pair without its other half. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Whether every storage can keep `s` as text: it holds no NUL (PostgreSQL's text cannot) and no
 * lone surrogate (UTF-8 cannot encode one). Replica ids, document ids and collection names must be.
 */
export function isStorableText(s: string): boolean {
  if (s.includes('\u0000')) return false;
  // String.prototype.isWellFormed (Node 20, current browsers) is native; the expression is the fallback.
  const wellFormed = (s as { isWellFormed?: () => boolean }).isWellFormed;
  return wellFormed ? wellFormed.call(s) : !LONE_SURROGATE.test(s);
}

export function replicaId(id: string): ReplicaId {
  if (id.length === 0 || !isStorableText(id) || utf8.encode(id).length > MAX_REPLICA_ID_BYTES) {
    throw new InvalidArgumentError(
      'BAD_REPLICA_ID',
      `replica id must be 1..${MAX_REPLICA_ID_BYTES} UTF-8 bytes, without NUL or a lone surrogate`,
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

/**
 * The id `replica` writes as inside an embedded CRDT during its run begun by its dot numbered
 * `run` (`Embedded.update` says why). It holds a NUL, which `replicaId` refuses, so it is never
 * the id of a replica; it lives only inside encoded states, never in a text column. The codec
 * writes it as its replica's place in the message's table and the run (`runOf`).
 */
export function runReplicaId(replica: ReplicaId, run: number): ReplicaId {
  return `${replica}\u0000${run}` as ReplicaId;
}

/** The replica and run of an id `runReplicaId` made (of a replica without NUL), else undefined. */
export function runOf(id: string): { replica: ReplicaId; run: number } | undefined {
  const cut = id.indexOf('\u0000');
  if (cut <= 0) return undefined;
  const digits = id.slice(cut + 1);
  const run = Number(digits);
  if (!Number.isSafeInteger(run) || run < 1 || String(run) !== digits) return undefined;
  return { replica: id.slice(0, cut) as ReplicaId, run };
}

export { MAX_REPLICA_ID_BYTES };
