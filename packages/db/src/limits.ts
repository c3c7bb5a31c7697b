import { isStorableText } from '@concord/crdt/internal';
import { DbError } from './errors.js';

/**
 * The limits every write path shares — local writes, a sync server's admission of pushed
 * changes, its REST writes — so that what one storage or one peer accepts, every other can hold
 * and send: PostgreSQL's text holds no NUL and its B-tree index rows end at 2,704 bytes; the
 * codec decodes 64 levels of nesting; a sync message carries at most 16 MiB.
 */

/** Longest document id, in UTF-8 bytes. */
export const MAX_ID_BYTES = 1024;
/** Longest collection name, in UTF-8 bytes. */
export const MAX_COLLECTION_BYTES = 256;
/**
 * Largest document, as the UTF-8 bytes of its JSON: a quarter of a sync message, so that its
 * stored form (the JSON and its CRDT metadata) always fits in one.
 */
export const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;
/** Deepest nesting of a document's values (maps, lists, JSON objects and arrays) below the document. */
export const MAX_NESTING = 32;

const utf8 = new TextEncoder();

/** Throws `BAD_ID` unless `id` is a valid document id (see `checkName`). */
export function checkId(id: unknown): asserts id is string {
  checkName(id, MAX_ID_BYTES, 'a document id');
}

/** Throws `BAD_ID` unless `name` is a valid collection name (see `checkName`). */
export function checkCollectionName(name: unknown): asserts name is string {
  checkName(name, MAX_COLLECTION_BYTES, 'a collection name');
}

/**
 * An id or a name is a non-empty string without NUL or a lone surrogate (UTF-8 storage cannot
 * keep either), of at most `max` UTF-8 bytes.
 */
function checkName(s: unknown, max: number, what: string): void {
  if (typeof s !== 'string' || s.length === 0) throw new DbError('BAD_ID', `${what} is a non-empty string`);
  if (!isStorableText(s)) throw new DbError('BAD_ID', `${what} cannot hold NUL or a lone surrogate`);
  // A UTF-16 unit is at most 3 UTF-8 bytes: most names are spared the count.
  if (s.length * 3 > max && utf8.encode(s).length > max)
    throw new DbError('BAD_ID', `${what} is at most ${max} UTF-8 bytes`);
}

/**
 * Throws `TOO_DEEP` or `TOO_LARGE` for a document (its JSON) beyond `MAX_NESTING` or
 * `MAX_DOCUMENT_BYTES`. The size is bounded while walking (a UTF-16 unit is at most 6 bytes of
 * JSON); only a document whose bound passes the limit is serialised to be measured exactly.
 * Returns that bound: at least the bytes of the document's JSON in UTF-8.
 */
export function checkDocument(collection: string, id: string, value: unknown): number {
  const bound = walk(value, 0, collection, id);
  if (bound <= MAX_DOCUMENT_BYTES) return bound;
  const exact = utf8.encode(JSON.stringify(value)).length;
  if (exact > MAX_DOCUMENT_BYTES)
    throw new DbError(
      'TOO_LARGE',
      `${collection}/${id} is over ${MAX_DOCUMENT_BYTES} bytes of JSON, the limit for a document`,
    );
  return exact;
}

/** An upper bound of `v`'s JSON size in bytes; throws `TOO_DEEP`. */
function walk(v: unknown, depth: number, collection: string, id: string): number {
  if (typeof v === 'string') return v.length * 6 + 2;
  if (typeof v !== 'object' || v === null) return 24;
  if (depth > MAX_NESTING)
    throw new DbError('TOO_DEEP', `${collection}/${id} nests deeper than ${MAX_NESTING} levels`);
  let n = 2;
  if (Array.isArray(v)) for (const e of v) n += walk(e, depth + 1, collection, id) + 1;
  else
    for (const k in v) {
      // Scalars inline: most documents are flat, and this runs for every document written.
      const e = (v as Record<string, unknown>)[k];
      n +=
        k.length * 6 +
        4 +
        (typeof e === 'string'
          ? e.length * 6 + 2
          : typeof e !== 'object' || e === null
            ? 24
            : walk(e, depth + 1, collection, id));
    }
  return n;
}
