import type { Json } from '@concord/crdt';
import { jsonKey } from '@concord/crdt/internal';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** The same value with every object's keys in reverse insertion order. */
function reordered(v: Json): Json {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(reordered);
  const out: { [key: string]: Json } = {};
  // Defined, not assigned: `__proto__` is a key like any other in parsed JSON.
  for (const k of Object.keys(v).reverse())
    Object.defineProperty(out, k, {
      value: reordered((v as { [key: string]: Json })[k]!),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return out;
}

/** jsonKey as it was written before its flat-object fast path: the definition. */
function slowKey(v: Json): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || typeof v !== 'object') return Object.is(v, -0) ? '-0' : JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(slowKey).join(',')}]`;
  const o = v as { [key: string]: Json };
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${slowKey(o[k]!)}`)
    .join(',')}}`;
}

// Keys that object insertion does not keep in order, and values JSON.stringify writes otherwise.
const key = fc.oneof(fc.string(), fc.constantFrom('10', '9', '0', '__proto__', '_id', 'a', 'B'));
const leaf = fc.oneof(fc.string(), fc.double(), fc.constantFrom(-0, 0, true, false, null), fc.integer());
const json = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(tie('value')),
    fc.dictionary(key, tie('value'), { maxKeys: 8 }),
    fc.dictionary(key, leaf, { maxKeys: 14 }),
  ),
})).value;

describe('jsonKey', () => {
  it('is the sorted-key form of a value, whatever its keys’ order', () => {
    fc.assert(
      fc.property(json, (v) => {
        expect(jsonKey(v)).toBe(slowKey(v));
        expect(jsonKey(reordered(v))).toBe(jsonKey(v));
      }),
      { numRuns: 2_000 },
    );
  });

  it('tells -0 from 0 and keeps integer-like keys sorted as strings', () => {
    expect(jsonKey({ b: -0, a: 1 })).toBe('{"a":1,"b":-0}');
    expect(jsonKey({ 9: 'x', 10: 'y', a: null })).toBe('{"10":"y","9":"x","a":null}');
    expect(jsonKey(JSON.parse('{"__proto__":1,"a":2}'))).toBe('{"__proto__":1,"a":2}');
  });
});
