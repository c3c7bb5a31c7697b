import type { Json } from '@concord/crdt';
import { jsonKey } from '@concord/crdt/internal';

/** Types in sort order, as MongoDB orders them: missing and null first, then booleans, numbers, strings, arrays, objects. */
function rank(v: unknown): number {
  if (v === undefined || v === null) return 0;
  switch (typeof v) {
    case 'boolean':
      return 1;
    case 'number':
      return 2;
    case 'string':
      return 3;
    default:
      return Array.isArray(v) ? 4 : 5;
  }
}

/** A total order on JSON values, used by sorts and by index ranges. */
export function compareValues(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 0) return 0;
  if (ra <= 3) return a! < b! ? -1 : a! > b! ? 1 : 0;
  const ka = jsonKey(a as Json);
  const kb = jsonKey(b as Json);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Range operators compare only values of one type (a price is never "less than" a string). */
export function comparable(a: unknown, b: unknown): boolean {
  const r = rank(a);
  return r === rank(b) && (r === 2 || r === 3 || r === 1);
}

/** The value at a dotted path (`dims.width`); array indexes are path segments too. */
export function getPath(doc: unknown, path: string): unknown {
  let v = doc;
  for (const key of path.split('.')) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = Object.hasOwn(v, key) ? (v as Record<string, unknown>)[key] : undefined;
  }
  return v;
}
