import { hash } from 'node:crypto';
import type { Json } from '@concord/crdt';
import { jsonKey } from '@concord/crdt/internal';
import { DbError } from '@concord/db';
import { checkId } from '@concord/db/internal';
import { FeedError } from './FeedError.js';

/**
 * One line of a product feed: a product whole (its `_id` and every field), or a tombstone — the
 * product deleted (`"_deleted": true`).
 */
export interface FeedRecord {
  readonly id: string;
  /** The product without `_id`; undefined for a tombstone. */
  readonly product: Readonly<Record<string, Json>> | undefined;
}

/** The feed record `value` is (from a JSON line or a CSV row); `BAD_RECORD` saying why if it is none. */
export function feedRecord(value: unknown, where: string): FeedRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new FeedError('BAD_RECORD', `${where}: a product is a JSON object`);
  const { _id: id, _deleted: deleted, ...product } = value as Record<string, Json>;
  if (typeof id !== 'string' || id === '') throw new FeedError('BAD_RECORD', `${where}: no _id`);
  try {
    checkId(id);
  } catch (e) {
    throw new FeedError('BAD_RECORD', `${where}: ${e instanceof DbError ? e.message : String(e)}`);
  }
  if (deleted === true || deleted === 'true') return { id, product: undefined };
  return { id, product };
}

/** The record as its message carries it: the product with its id, or the tombstone. */
export function recordJson(r: FeedRecord): Record<string, Json> {
  return r.product ? { _id: r.id, ...r.product } : { _id: r.id, _deleted: true };
}

/**
 * A message id that names the record's content (`Nats-Msg-Id`): the same product with the same
 * fields, in any key order, has the same id, so JetStream stores a feed published twice once.
 * The first 128 bits of a SHA-256, hex; `node:crypto`'s one-shot `hash` (two fifths of
 * `createHash`'s cost on a product), as WebCrypto's promise per digest cost 20 times more.
 */
export function contentId(r: FeedRecord): string {
  return hash('sha256', jsonKey(recordJson(r)), 'hex').slice(0, 32);
}
