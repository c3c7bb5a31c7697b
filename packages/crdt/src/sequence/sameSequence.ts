import type { Run } from './Run.js';
import type { RunTree } from './RunTree.js';

/**
 * True when two trees hold the same elements in the same order with the same deleted flags:
 * the test of convergence. Runs may be cut differently on each side, so the walk compares
 * element by element, a stretch at a time.
 */
export function sameSequence<C>(a: RunTree<C>, b: RunTree<C>): boolean {
  if (a.totalLength !== b.totalLength || a.visibleLength !== b.visibleLength) return false;
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  let ra: Run<C> | undefined = ia.next().value;
  let rb: Run<C> | undefined = ib.next().value;
  let oa = 0;
  let ob = 0;
  while (ra && rb) {
    if (
      ra.replica !== rb.replica ||
      ra.seq + oa !== rb.seq + ob ||
      (ra.content === null) !== (rb.content === null)
    ) {
      return false;
    }
    const n = Math.min(ra.len - oa, rb.len - ob);
    oa += n;
    ob += n;
    if (oa === ra.len) {
      ra = ia.next().value;
      oa = 0;
    }
    if (ob === rb.len) {
      rb = ib.next().value;
      ob = 0;
    }
  }
  return ra === undefined && rb === undefined;
}
