import {
  DecodeError,
  decodeCrdt,
  encodeCrdt,
  FORMAT_VERSION,
  GCounter,
  List,
  LWWRegister,
  ORMap,
  PNCounter,
  replicaId,
  Text,
} from '@concord/crdt';
import { Encoder } from '@concord/crdt/internal';
import { describe, expect, it } from 'vitest';

const A = replicaId('alice');
const B = replicaId('bob');
const C = replicaId('carol');

/** A product row as an ORMap with a name register and a stock counter. */
function product(name: string, stock: number): ORMap {
  const m = ORMap.empty();
  m.update(C, 'name', LWWRegister, (r) => r.set({ wall: 1, logical: 0, replica: C }, name));
  m.update(C, 'stock', PNCounter, (c) => c.increment(C, stock));
  return m;
}

describe('List', () => {
  it('inserts, appends, deletes and reads JSON elements by position', () => {
    const l = List.empty();
    l.push(A, 'a', 'b', 'c');
    l.insert(A, 1, { x: [1, 2] }, null);
    l.delete(A, 3, 2);
    expect(l.value()).toEqual(['a', { x: [1, 2] }, null]);
    expect(l.get(1)).toEqual({ x: [1, 2] });
    expect(l.length).toBe(3);
  });

  it('freezes JSON elements: a reader cannot change the state behind the list', () => {
    const l = List.empty();
    const item = { tags: ['a'] };
    l.push(A, item);
    item.tags.push('changed by caller');
    expect(l.value()).toEqual([{ tags: ['a'] }]);
    expect(() => (l.get(0) as { tags: string[] }).tags.push('x')).toThrow(TypeError);
  });

  it('refuses bad positions, non-JSON values and updates of the wrong type, changing nothing', () => {
    const l = List.empty();
    l.push(A, 1, GCounter.empty());
    const before = l.clone();
    expect(() => l.insert(A, 3, 'x')).toThrow(expect.objectContaining({ code: 'BAD_POSITION' }));
    expect(() => l.get(2)).toThrow(expect.objectContaining({ code: 'BAD_POSITION' }));
    expect(() => l.push(A, new Date() as never)).toThrow(expect.objectContaining({ code: 'NOT_JSON' }));
    expect(() => l.push(A, Number.NaN)).toThrow(expect.objectContaining({ code: 'NOT_JSON' }));
    expect(() => l.update(A, 0, GCounter, (c) => c.increment(A, 1))).toThrow(
      expect.objectContaining({ code: 'TYPE_MISMATCH' }),
    );
    expect(() => l.update(A, 1, PNCounter, (c) => c.increment(A, 1))).toThrow(
      expect.objectContaining({ code: 'TYPE_MISMATCH' }),
    );
    expect(l.equals(before)).toBe(true);
  });

  it('updates nested CRDT elements in place; concurrent updates merge by the element type', () => {
    const a = List.empty();
    a.push(C, GCounter.empty(), product('milk', 10));
    const b = a.clone();
    const da = a.update(A, 0, GCounter, (c) => c.increment(A, 2));
    const db = b.update(B, 0, GCounter, (c) => c.increment(B, 3));
    const da2 = a.update(A, 1, ORMap, (m) => m.update(A, 'stock', PNCounter, (c) => c.increment(A, -4)));
    const db2 = b.update(B, 1, ORMap, (m) =>
      m.update(B, 'name', LWWRegister, (r) => r.set({ wall: 2, logical: 0, replica: B }, 'whole milk')),
    );
    a.join(db).join(db2);
    b.join(da2).join(da);
    expect(a.value()).toEqual([5, { name: 'whole milk', stock: 6 }]);
    expect(b.equals(a)).toBe(true);
  });

  it('a deletion wins over a concurrent update of the same element', () => {
    const a = List.empty();
    a.push(C, GCounter.empty(), 'keep');
    const b = a.clone();
    const del = a.delete(A, 0);
    const upd = b.update(B, 0, GCounter, (c) => c.increment(B, 1));
    a.join(upd);
    b.join(del);
    expect(a.value()).toEqual(['keep']);
    expect(b.value()).toEqual(['keep']);
    expect(a.equals(b)).toBe(true);
  });

  it('keeps no shared state between replicas: a joined element changes only where it is updated', () => {
    const a = List.empty();
    a.push(A, GCounter.empty());
    const b = List.empty().join(a);
    const delta = a.update(A, 0, GCounter, (c) => c.increment(A, 1));
    expect(b.value()).toEqual([0]);
    a.update(A, 0, GCounter, (c) => c.increment(A, 5));
    b.join(delta);
    expect(b.value()).toEqual([1]);
    expect(a.value()).toEqual([6]);
  });

  it('concurrent runs of elements never interleave', () => {
    const a = List.empty();
    a.push(C, 'start', 'end');
    const b = a.clone();
    for (const [i, w] of ['a1', 'a2', 'a3'].entries()) a.insert(A, 1 + i, w);
    for (const w of ['b3', 'b2', 'b1']) b.insert(B, 1, w);
    const merged = a.clone().join(b);
    expect(merged.value().join(' ')).toMatch(/^start (a1 a2 a3 b1 b2 b3|b1 b2 b3 a1 a2 a3) end$/);
    expect(b.join(a).equals(merged)).toBe(true);
  });

  it('an ORMap inside a List inside an ORMap merges at every level', () => {
    const base = ORMap.empty();
    base.update(C, 'lines', List, (l) => l.push(C, product('milk', 10), product('eggs', 12)));
    const a = ORMap.empty().join(base);
    const b = ORMap.empty().join(base);
    const da = a.update(A, 'lines', List, (l) =>
      l.update(A, 0, ORMap, (m) => m.update(A, 'stock', PNCounter, (c) => c.increment(A, -1))),
    );
    const db = b.update(B, 'lines', List, (l) => {
      l.update(B, 0, ORMap, (m) => m.update(B, 'stock', PNCounter, (c) => c.increment(B, -2)));
      return l.push(B, product('bread', 3));
    });
    a.join(db);
    b.join(da);
    const expected = {
      lines: [
        { name: 'milk', stock: 7 },
        { name: 'eggs', stock: 12 },
        { name: 'bread', stock: 3 },
      ],
    };
    expect(a.value()).toEqual(expected);
    expect(b.value()).toEqual(expected);
    expect(a.equals(b)).toBe(true);
    expect(decodeCrdt(encodeCrdt(a), ORMap).equals(a)).toBe(true);
  });

  it('sends exactly what a replica lacks, element updates included', () => {
    const a = List.empty();
    a.push(A, GCounter.empty(), 'x');
    const b = List.empty().join(a);
    const seen = b.version();
    a.update(A, 0, GCounter, (c) => c.increment(A, 4));
    a.delete(A, 1);
    const delta = a.deltaSince(seen);
    expect(delta.value()).toEqual([]); // an update and a delete, no elements
    b.join(decodeCrdt(encodeCrdt(delta), List));
    expect(b.equals(a)).toBe(true);
  });

  it('holds an element update that arrives before its element, and applies it when the element arrives', () => {
    const a = List.empty();
    const ins = a.push(A, GCounter.empty());
    const upd = a.update(A, 0, GCounter, (c) => c.increment(A, 9));
    const b = List.empty().join(upd);
    expect(b.value()).toEqual([]);
    b.join(ins);
    expect(b.value()).toEqual([9]);
    expect(b.equals(a)).toBe(true);
  });

  it('anchors stay with their element', () => {
    const a = List.empty();
    a.push(A, 'a', 'b', 'c');
    const anchor = a.anchor(2);
    const b = a.clone();
    b.insert(B, 0, 'x', 'y');
    a.delete(A, 0);
    a.join(b);
    expect(a.value()[a.resolve(anchor)]).toBe('c');
  });

  it('refuses an element update inside a Text message, and a truncated list', () => {
    const t = Text.empty();
    t.insert(A, 0, 'hi');
    const bytes = encodeCrdt(t);
    // A Text body of one record whose flags say "element update".
    const enc = new Encoder();
    enc.uint(1);
    enc.byte(0b1000_0001);
    enc.replica(A);
    enc.int(0);
    enc.int(0);
    enc.byte(GCounter.tag);
    GCounter.empty().encodeTo(enc);
    const forged = enc.finish(FORMAT_VERSION, Text.tag);
    expect(() => decodeCrdt(forged, Text)).toThrow(expect.objectContaining({ code: 'BAD_TAG' }));
    expect(decodeCrdt(bytes, Text).value()).toBe('hi');
    const l = List.empty();
    l.push(A, product('milk', 1), [1, 2, 3]);
    const lb = encodeCrdt(l);
    for (let n = 0; n < lb.length; n++) expect(() => decodeCrdt(lb.subarray(0, n))).toThrow(DecodeError);
  });
});
