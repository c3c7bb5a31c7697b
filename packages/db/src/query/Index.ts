import type { Json } from '@concord/crdt';
import { jsonKey } from '@concord/crdt/internal';
import { compareValues, getPath } from './compare.js';
import { isOperators, type Where } from './Query.js';

/**
 * A secondary index on one field path: value → ids for equality, and the distinct values kept
 * sorted for ranges. Maintained on every change, so an indexed query touches only the
 * documents it can match, not the whole collection.
 */
export class Index {
  private readonly byKey = new Map<string, Set<string>>();
  /** Distinct scalar values, sorted by `compareValues`. */
  private readonly sorted: unknown[] = [];

  constructor(readonly path: string) {}

  add(id: string, doc: unknown): void {
    const v = getPath(doc, this.path);
    if (v === undefined) return;
    const key = jsonKey(v as Json);
    let ids = this.byKey.get(key);
    if (!ids) {
      ids = new Set();
      this.byKey.set(key, ids);
      if (typeof v !== 'object' || v === null) this.sorted.splice(this.lowerBound(v), 0, v);
    }
    ids.add(id);
  }

  remove(id: string, doc: unknown): void {
    const v = getPath(doc, this.path);
    if (v === undefined) return;
    const key = jsonKey(v as Json);
    const ids = this.byKey.get(key);
    if (!ids) return;
    ids.delete(id);
    if (ids.size === 0) {
      this.byKey.delete(key);
      if (typeof v !== 'object' || v === null) this.sorted.splice(this.lowerBound(v), 1);
    }
  }

  private lowerBound(v: unknown): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareValues(this.sorted[mid], v) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * The ids that can satisfy `cond` on this field, or undefined when the index cannot narrow it
   * (`$ne`, `$exists`, ...). Callers still test every candidate against the whole filter.
   */
  candidates(cond: unknown): Set<string> | undefined {
    if (!isOperators(cond)) return this.byKey.get(jsonKey(cond as Json)) ?? new Set();
    if (cond.$eq !== undefined) return this.byKey.get(jsonKey(cond.$eq as Json)) ?? new Set();
    if (cond.$in) {
      const out = new Set<string>();
      for (const v of cond.$in) for (const id of this.byKey.get(jsonKey(v as Json)) ?? []) out.add(id);
      return out;
    }
    const lo = cond.$gt ?? cond.$gte;
    const hi = cond.$lt ?? cond.$lte;
    if (lo === undefined && hi === undefined) return undefined;
    const out = new Set<string>();
    let i = lo === undefined ? 0 : this.lowerBound(lo);
    for (; i < this.sorted.length; i++) {
      const v = this.sorted[i];
      if (hi !== undefined && compareValues(v, hi) > 0) break;
      for (const id of this.byKey.get(jsonKey(v as Json))!) out.add(id);
    }
    return out;
  }

  /** The smallest candidate set any indexed field of `where` gives, if any does. */
  static plan(
    indexes: ReadonlyMap<string, Index>,
    where: Where | undefined,
  ): { path: string; ids: Set<string> } | undefined {
    let best: { path: string; ids: Set<string> } | undefined;
    for (const [path, cond] of Object.entries(where ?? {})) {
      const index = indexes.get(path);
      if (!index) continue;
      const ids = index.candidates(cond);
      if (ids && (!best || ids.size < best.ids.size)) best = { path, ids };
    }
    return best;
  }
}
