import type { Json } from '@concord/crdt';
import { jsonKey } from '@concord/crdt/internal';
import { DbError } from '../errors.js';
import { comparable, compareValues, getPath } from './compare.js';

/** A condition on one field: a value (equality) or operators. */
export interface Operators {
  $eq?: unknown;
  $ne?: unknown;
  $lt?: unknown;
  $lte?: unknown;
  $gt?: unknown;
  $gte?: unknown;
  $in?: readonly unknown[];
  $nin?: readonly unknown[];
  $exists?: boolean;
  /** An array holding the value, or a string holding the substring. */
  $contains?: unknown;
}

/** Field paths (dotted into nested maps) to conditions; `$and` / `$or` combine whole filters. */
export type Where = { $and?: Where[]; $or?: Where[] } & { [path: string]: unknown };

export interface Query {
  where?: Where;
  sort?: Record<string, 'asc' | 'desc'>;
  limit?: number;
  skip?: number;
}

const OPERATORS = new Set([
  '$eq',
  '$ne',
  '$lt',
  '$lte',
  '$gt',
  '$gte',
  '$in',
  '$nin',
  '$exists',
  '$contains',
]);

/** True when `cond` is an operator object (`{ $lt: 5 }`) rather than a value to equal. */
export function isOperators(cond: unknown): cond is Operators {
  if (typeof cond !== 'object' || cond === null || Array.isArray(cond)) return false;
  const keys = Object.keys(cond);
  if (keys.length === 0 || !keys.every((k) => k.startsWith('$'))) return false;
  for (const k of keys) if (!OPERATORS.has(k)) throw new DbError('BAD_QUERY', `unknown operator ${k}`);
  return true;
}

/**
 * How large a filter may be. A filter is evaluated against every document it is matched with —
 * each subscription's on every change, a grant's on every read — so its cost is bounded where
 * it is checked: at most `MAX_QUERY_TERMS` conditions (each field condition, each operator,
 * each `$in`/`$nin` value and each filter of an `$and`/`$or` counts), nested at most
 * `MAX_QUERY_DEPTH` `$and`/`$or` levels, and at most `MAX_QUERY_BYTES` of JSON in all.
 */
export const MAX_QUERY_TERMS = 256;
export const MAX_QUERY_DEPTH = 8;
export const MAX_QUERY_BYTES = 16 * 1024;

/** Throws BAD_QUERY for a malformed query, or one over the query limits, before it runs. */
export function checkQuery(q: Query): void {
  if (q.limit !== undefined && !(Number.isInteger(q.limit) && q.limit >= 0))
    throw new DbError('BAD_QUERY', 'limit must be a non-negative integer');
  if (q.skip !== undefined && !(Number.isInteger(q.skip) && q.skip >= 0))
    throw new DbError('BAD_QUERY', 'skip must be a non-negative integer');
  for (const [k, dir] of Object.entries(q.sort ?? {})) {
    if (dir !== 'asc' && dir !== 'desc') throw new DbError('BAD_QUERY', `sort ${k} must be 'asc' or 'desc'`);
  }
  if (!q.where) return;
  const terms = checkWhere(q.where, 0);
  if (terms > MAX_QUERY_TERMS)
    throw new DbError('BAD_QUERY', `a filter of ${terms} conditions (at most ${MAX_QUERY_TERMS})`);
  const bytes = JSON.stringify(q.where).length;
  if (bytes > MAX_QUERY_BYTES)
    throw new DbError('BAD_QUERY', `a filter of ${bytes} characters of JSON (at most ${MAX_QUERY_BYTES})`);
}

/** How many conditions a filter holds, counted as `checkQuery` counts them (it must be a checked filter). */
export function filterTerms(where: Where): number {
  return checkWhere(where, 0);
}

/** Checks a filter; returns how many conditions it holds (stopping early once over the limit). */
function checkWhere(w: Where, depth: number): number {
  if (typeof w !== 'object' || w === null || Array.isArray(w))
    throw new DbError('BAD_QUERY', 'where must be an object');
  if (depth > MAX_QUERY_DEPTH)
    throw new DbError('BAD_QUERY', `$and/$or nested deeper than ${MAX_QUERY_DEPTH} levels`);
  let terms = 0;
  for (const [k, cond] of Object.entries(w)) {
    if (terms > MAX_QUERY_TERMS) break;
    if (k === '$and' || k === '$or') {
      if (!Array.isArray(cond)) throw new DbError('BAD_QUERY', `${k} takes an array of filters`);
      terms += 1 + Math.min(cond.length, MAX_QUERY_TERMS + 1);
      for (const c of cond) {
        if (terms > MAX_QUERY_TERMS) break;
        terms += checkWhere(c as Where, depth + 1);
      }
    } else if (k.startsWith('$')) throw new DbError('BAD_QUERY', `unknown operator ${k}`);
    else if (isOperators(cond)) {
      terms += Object.keys(cond).length;
      for (const op of ['$in', '$nin'] as const) {
        if (cond[op] === undefined) continue;
        if (!Array.isArray(cond[op])) throw new DbError('BAD_QUERY', `${op} takes an array`);
        terms += cond[op].length;
      }
    } else terms++;
  }
  return terms;
}

/** Deep JSON equality; scalars (most of what filters compare) without serialising anything. */
const equal = (a: unknown, b: unknown): boolean =>
  a === b ||
  (typeof a === 'object' &&
    a !== null &&
    typeof b === 'object' &&
    b !== null &&
    jsonKey(a as Json) === jsonKey(b as Json));

function test(v: unknown, cond: unknown): boolean {
  if (!isOperators(cond)) return equal(v, cond);
  for (const [op, arg] of Object.entries(cond)) {
    switch (op) {
      case '$eq':
        if (!equal(v, arg)) return false;
        break;
      case '$ne':
        if (equal(v, arg)) return false;
        break;
      case '$lt':
        if (!comparable(v, arg) || compareValues(v, arg) >= 0) return false;
        break;
      case '$lte':
        if (!comparable(v, arg) || compareValues(v, arg) > 0) return false;
        break;
      case '$gt':
        if (!comparable(v, arg) || compareValues(v, arg) <= 0) return false;
        break;
      case '$gte':
        if (!comparable(v, arg) || compareValues(v, arg) < 0) return false;
        break;
      case '$in':
        if (!(arg as unknown[]).some((a) => equal(v, a))) return false;
        break;
      case '$nin':
        if ((arg as unknown[]).some((a) => equal(v, a))) return false;
        break;
      case '$exists':
        if ((v !== undefined) !== arg) return false;
        break;
      case '$contains':
        if (Array.isArray(v)) {
          if (!v.some((e) => equal(e, arg))) return false;
        } else if (typeof v === 'string' && typeof arg === 'string') {
          if (!v.includes(arg)) return false;
        } else return false;
        break;
    }
  }
  return true;
}

/** Whether a document (plain JSON) satisfies a filter. */
export function matches(doc: unknown, where: Where | undefined): boolean {
  if (!where) return true;
  for (const [k, cond] of Object.entries(where)) {
    if (k === '$and') {
      if (!(cond as Where[]).every((w) => matches(doc, w))) return false;
    } else if (k === '$or') {
      if (!(cond as Where[]).some((w) => matches(doc, w))) return false;
    } else if (!test(getPath(doc, k), cond)) return false;
  }
  return true;
}

/** Orders documents by the query's sort keys, then by `_id` so every replica lists ties alike. */
export function sorter(
  sort: Query['sort'],
): (a: Record<string, unknown>, b: Record<string, unknown>) => number {
  const keys = Object.entries(sort ?? {});
  return (a, b) => {
    for (const [path, dir] of keys) {
      const c = compareValues(getPath(a, path), getPath(b, path));
      if (c !== 0) return dir === 'desc' ? -c : c;
    }
    return compareValues(a._id, b._id);
  };
}
