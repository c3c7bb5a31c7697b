import { VersionVector } from '@concord/crdt';

/** Whether `a` is at or before `b` (a cursor the server's history covers). */
export function isAtOrBefore(a: VersionVector, b: VersionVector): boolean {
  const c = a.compare(b);
  return c === 'before' || c === 'equal';
}

/** The version every one of `vvs` has reached. */
export function meet(vvs: readonly VersionVector[]): VersionVector {
  const out = new VersionVector();
  const [first, ...rest] = vvs;
  if (!first) return out;
  for (const [r, seq] of first.entries()) out.advance(r, Math.min(seq, ...rest.map((v) => v.get(r))));
  return out;
}
