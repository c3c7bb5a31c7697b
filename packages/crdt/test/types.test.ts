import {
  CausalRegister,
  Flag,
  FORMAT_VERSION,
  GCounter,
  GSet,
  HybridLogicalClock,
  InvalidArgumentError,
  type Json,
  List,
  LWWMap,
  LWWRegister,
  MVRegister,
  merge,
  ORMap,
  ORSet,
  PNCounter,
  replicaId,
  Text,
  TwoPhaseSet,
} from '@concord/crdt';
import { Encoder } from '@concord/crdt/internal';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const A = replicaId('a');
const B = replicaId('b');
const C = replicaId('c');
const at = (wall: number, replica = A) => ({ wall, logical: 0, replica });

describe('counters', () => {
  it('GCounter sums the per-replica counts and merges by maximum', () => {
    const a = GCounter.empty();
    const b = GCounter.empty();
    a.increment(A, 3);
    b.increment(B, 4);
    b.join(a.increment(A, 1)); // a delta
    expect(merge(a, b).value()).toBe(8);
    expect(() => a.increment(A, -1)).toThrow(InvalidArgumentError);
    expect(() => a.increment(A, 1.5)).toThrow(expect.objectContaining({ code: 'BAD_AMOUNT' }));
  });

  it('PNCounter goes both ways', () => {
    const a = PNCounter.empty();
    const b = PNCounter.empty();
    a.increment(A, 10);
    b.decrement(B, 3);
    b.increment(B, -2);
    expect(merge(a, b).value()).toBe(5);
  });
});

describe('sets', () => {
  it('GSet only grows and treats deeply equal JSON as one element', () => {
    const s = GSet.empty();
    s.add({ x: 1, y: [2] });
    expect(s.add({ y: [2], x: 1 }).size).toBe(0);
    expect(s.value()).toEqual([{ x: 1, y: [2] }]);
  });

  it('TwoPhaseSet: once removed, an element never comes back', () => {
    const a = TwoPhaseSet.empty();
    a.add('milk');
    const b = a.clone();
    a.remove('milk');
    b.add('milk'); // concurrent re-add
    expect(merge(a, b).value()).toEqual([]);
    a.add('milk');
    expect(a.has('milk')).toBe(false);
  });

  it('ORSet: a concurrent add wins over a remove; an observed add is removed', () => {
    const a = ORSet.empty();
    const b = ORSet.empty();
    b.join(a.add(A, 'eggs'));
    const removal = a.remove('eggs'); // a removes what it saw
    const readd = b.add(B, 'eggs'); // b adds again concurrently
    expect(merge(a, b).value()).toEqual(['eggs']);
    a.join(readd);
    b.join(removal);
    expect(a.value()).toEqual(['eggs']);
    expect(a.equals(b)).toBe(true);
    // Now a remove that has seen every add wins.
    b.join(a.remove('eggs'));
    expect(b.value()).toEqual([]);
  });
});

describe('registers', () => {
  it('LWWRegister keeps the write with the greatest timestamp', () => {
    const a = LWWRegister.empty();
    const b = LWWRegister.empty();
    a.set(at(5, A), 'old');
    b.set(at(7, B), 'new');
    expect(merge(a, b).value()).toBe('new');
    expect(merge(b, a).value()).toBe('new');
  });

  it('MVRegister keeps every concurrent value until a write that saw them', () => {
    const a = MVRegister.empty();
    const b = MVRegister.empty();
    a.set(A, 1);
    b.set(B, 2);
    const m = merge(a, b);
    expect(m.value().sort()).toEqual([1, 2]);
    m.set(C, 3);
    expect(m.value()).toEqual([3]);
  });

  it('CausalRegister: a causally later write wins even with an older clock', () => {
    const a = CausalRegister.empty();
    const b = CausalRegister.empty();
    b.join(a.set(at(1000, A), 'from a, clock ahead'));
    b.set(at(10, B), 'from b, clock behind, but it saw a'); // causally after
    a.join(b);
    expect(a.value()).toBe('from b, clock behind, but it saw a');
    expect(a.conflicts()).toEqual([]);
  });

  it('CausalRegister: concurrent writes order by HLC and the loser stays readable', () => {
    const a = CausalRegister.empty();
    const b = CausalRegister.empty();
    a.set(at(20, A), 'a wins');
    b.set(at(10, B), 'b loses');
    const m = merge(b, a);
    expect(m.value()).toBe('a wins');
    expect(m.conflicts()).toEqual([{ value: 'b loses', ts: at(10, B) }]);
    expect(merge(a, b).equals(m)).toBe(true);
    m.set(at(30, C), 'resolved');
    expect(m.conflicts()).toEqual([]);
  });

  it('Flag: enable wins over a concurrent disable', () => {
    const a = Flag.empty();
    const b = Flag.empty();
    b.join(a.enable(A));
    a.disable();
    b.enable(B);
    expect(merge(a, b).value()).toBe(true);
    const c = merge(a, b);
    c.disable();
    expect(merge(c, b).value()).toBe(false);
  });
});

describe('LWWMap (seed 003)', () => {
  it('adds, updates, removes and looks up by timestamp', () => {
    const m = LWWMap.empty();
    m.set(at(1), 'k', 'v1');
    m.set(at(3), 'k', 'v3');
    m.set(at(2), 'k', 'older add ignored');
    expect(m.get('k')).toBe('v3');
    m.remove(at(4), 'k');
    expect(m.has('k')).toBe(false);
    m.set(at(3, B), 'k', 'add older than the remove is ignored');
    expect(m.has('k')).toBe(false);
    m.set(at(5), 'k', 'newer add wins');
    expect(m.value()).toEqual({ k: 'newer add wins' });
  });

  it('merges replicas by the newest event per key', () => {
    const a = LWWMap.empty();
    const b = LWWMap.empty();
    a.set(at(1, A), 'x', 1);
    b.set(at(2, B), 'x', 2);
    b.set(at(1, B), 'y', 'b');
    a.remove(at(3, A), 'y');
    expect(merge(a, b).value()).toEqual({ x: 2 });
    expect(merge(b, a).equals(merge(a, b))).toBe(true);
  });
});

describe('ORMap', () => {
  it('absorbing a batch of writes in order gives the same delta as joining them', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 5 }), fc.constantFrom('set', 'nested', 'count', 'remove')),
          {
            maxLength: 30,
          },
        ),
        (ops) => {
          const m = ORMap.empty();
          const clock = new HybridLogicalClock(A, { now: () => 1 });
          m.update(A, 'k0', CausalRegister, (r) => r.set(clock.now(), 'seed'));
          const deltas = ops.map(([k, op]) => {
            const name = `k${k}`;
            if (op === 'remove') return m.remove(name);
            if (op === 'count') return m.update(A, name, PNCounter, (c) => c.increment(A, 1));
            if (op === 'nested')
              return m.update(A, name, ORMap, (n) =>
                n.update(A, 'x', CausalRegister, (r) => r.set(clock.now(), k)),
              );
            return m.update(A, name, CausalRegister, (r) => r.set(clock.now(), k));
          });
          const joined = deltas.map((d) => d.clone()).reduce((a, d) => a.join(d), ORMap.empty());
          const absorbed = deltas.map((d) => d.clone()).reduce((a, d) => a.absorb(d), ORMap.empty());
          expect(absorbed.equals(joined)).toBe(true);
          // Either way the batch's delta takes a copy of the start state to the end state.
          expect(absorbed.value()).toEqual(joined.value());
        },
      ),
      { numRuns: 300 },
    );
  });

  it('nests CRDTs of every kind to any depth and reads back plain values', () => {
    const m = ORMap.empty();
    const clock = new HybridLogicalClock(A, { now: () => 1 });
    m.update(A, 'name', CausalRegister, (r) => r.set(clock.now(), 'Milk'));
    m.update(A, 'stock', PNCounter, (c) => c.increment(A, 12));
    m.update(A, 'tags', ORSet, (s) => s.add(A, 'dairy'));
    m.update(A, 'store', ORMap, (s) =>
      s.update(A, 'shelf', ORMap, (shelf) => shelf.update(A, 'row', GCounter, (c) => c.increment(A, 3))),
    );
    expect(m.value()).toEqual({ name: 'Milk', stock: 12, store: { shelf: { row: 3 } }, tags: ['dairy'] });
    expect(m.get('stock', PNCounter)?.value()).toBe(12);
  });

  it('a key removed on one replica while another updates its nested value survives with that update', () => {
    const a = ORMap.empty();
    a.update(A, 'cart', ORSet, (s) => s.add(A, 'apple'));
    const b = a.clone();
    a.remove('cart');
    b.update(B, 'cart', ORSet, (s) => s.add(B, 'pear'));
    expect(merge(a, b).value()).toEqual({ cart: ['pear'] }); // apple was removed, pear survives
    expect(merge(b, a).value()).toEqual({ cart: ['pear'] });
  });

  it('an embedded counter removed and concurrently incremented keeps the increment, and a stale replica cannot resurrect it', () => {
    const a = ORMap.empty();
    a.update(A, 'hits', GCounter, (c) => c.increment(A, 5));
    const stale = a.clone();
    const b = a.clone();
    a.remove('hits');
    expect(merge(a, stale).value()).toEqual({}); // stale state does not bring it back
    b.update(B, 'hits', GCounter, (c) => c.increment(B, 1));
    expect(merge(merge(a, stale), b).value()).toEqual({ hits: 6 });
  });

  it('a text removed and written again while another replica edits the old one keeps both, on every replica alike', () => {
    const a = ORMap.empty();
    a.update(A, 'note', Text, (t, as) => t.insert(as, 0, 'hello'));
    const b = a.clone();
    a.remove('note');
    // Written again from nothing: numbered from the start as the same replica, its letters
    // would reuse the ids of 'hello', which b still holds.
    a.update(A, 'note', Text, (t, as) => t.insert(as, 0, 'xyz'));
    b.update(B, 'note', Text, (t, as) => t.insert(as, 5, '!'));
    const ab = merge(a, b);
    const ba = merge(b, a);
    expect(ab.equals(ba)).toBe(true);
    expect(ab.value()).toEqual(ba.value());
    expect([...(ab.value().note as string)].sort().join('')).toBe([...'xyzhello!'].sort().join(''));
    // Both states' letters stay editable by either writer after the merge.
    ab.update(A, 'note', Text, (t, as) => t.insert(as, 0, '>'));
    expect(ab.value().note).toMatch(/^>/);
  });

  it('a counter removed and counted again keeps its new counts beside a concurrent update of the old one', () => {
    const a = ORMap.empty();
    a.update(A, 'hits', GCounter, (c, as) => c.increment(as, 5));
    const b = a.clone();
    a.remove('hits');
    a.update(A, 'hits', GCounter, (c, as) => c.increment(as, 2));
    b.update(B, 'hits', GCounter, (c, as) => c.increment(as, 1));
    // Counted again as the same replica, 2 would hide under the old state's 5.
    expect(merge(a, b).value()).toEqual({ hits: 8 });
    expect(merge(b, a).value()).toEqual({ hits: 8 });
  });

  it('an update of a plain CRDT whose function throws changes nothing, its context included', () => {
    const a = ORMap.empty();
    a.update(A, 'note', Text, (t, as) => t.insert(as, 0, 'hi'));
    const before = a.clone();
    expect(() =>
      a.update(A, 'note', Text, () => {
        throw new Error('no');
      }),
    ).toThrow('no');
    expect(a.equals(before)).toBe(true);
  });

  it('a writer keeps one run while its last write is live: a list edited many times names one id per writer', () => {
    const a = ORMap.empty();
    for (let i = 0; i < 20; i++) a.update(A, 'xs', List, (l, as) => l.push(as, i));
    const b = a.clone();
    for (let i = 0; i < 5; i++) b.update(B, 'xs', List, (l, as) => l.push(as, 100 + i));
    const m = merge(a, b);
    expect((m.value().xs as number[]).length).toBe(25);
    const ids = new Set([...m.get('xs', List)!.version().entries()].map(([r]) => r));
    expect(ids.size).toBe(2);
  });

  it('keeps both fields when replicas create one name with different types', () => {
    const a = ORMap.empty();
    const b = ORMap.empty();
    a.update(A, 'x', ORSet, (s) => s.add(A, 1));
    b.update(B, 'x', PNCounter, (c) => c.increment(B, 1));
    const m = merge(a, b);
    expect(m.get('x', ORSet)?.value()).toEqual([1]);
    expect(m.get('x', PNCounter)?.value()).toBe(1);
    expect(merge(b, a).value()).toEqual(m.value());
  });

  it('setRegisters makes what a write per name makes, which is also its delta; encodeRegisters writes it unmade', () => {
    const bytes = (write: (enc: Encoder) => void) => {
      const enc = new Encoder();
      write(enc);
      return enc.finish(FORMAT_VERSION, 1);
    };
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.string(), fc.jsonValue()), { selector: ([name]) => name, maxLength: 15 }),
        fc.integer({ min: 0, max: 2 ** 45 }),
        fc.nat(1000),
        (entries, wall, logical) => {
          const ts = { wall, logical, replica: A };
          const names = entries.map(([name]) => name);
          const values = entries.map(([, v]) => v as Json);
          const written = ORMap.empty();
          written.setRegisters(ts, names, values);
          const updated = ORMap.empty();
          const deltas = names.map((name, i) =>
            updated.update(A, name, CausalRegister, (r) => r.set(ts, values[i]!)),
          );
          expect(written.equals(updated)).toBe(true);
          expect(written.equals(deltas.reduce((a, d) => a.join(d), ORMap.empty()))).toBe(true);
          expect(written.value()).toEqual(updated.value());
          expect(bytes((enc) => ORMap.encodeRegisters(enc, ts, names, values))).toEqual(
            bytes((enc) => written.encodeTo(enc)),
          );
          // writtenBeside writes the names of a value in code-unit order; writtenAt tells it back.
          const beside = Object.fromEntries(entries) as Record<string, Json>;
          const inOrder = ORMap.writtenBeside(ts, beside);
          expect(inOrder.value()).toEqual(written.value());
          const order = [...names].sort();
          const sortedAlready = order.every((name, i) => name === names[i]);
          expect(inOrder.writtenAt(beside)).toEqual(names.length > 0 ? ts : undefined);
          expect(written.writtenAt(written.value())).toEqual(
            names.length > 0 && sortedAlready ? ts : undefined,
          );
          if (names.length > 0) {
            // Not beside another value, and not once anything changed it.
            expect(inOrder.writtenAt({ ...beside, [`${names.join('')}+`]: 1 })).toBeUndefined();
            if (values.some((v) => typeof v === 'object' && v !== null))
              expect(inOrder.writtenAt(structuredClone(beside))).toBeUndefined();
            inOrder.update(A, names[0]!, CausalRegister, (r) => r.set({ ...ts, wall: ts.wall + 1 }, 1));
            expect(inOrder.writtenAt(inOrder.value())).toBeUndefined();
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('setRegisters refuses a map that has seen anything, a value that is not JSON and a clock that is not whole milliseconds', () => {
    const used = ORMap.empty();
    used.update(A, 'x', CausalRegister, (r) => r.set(at(1), 1));
    used.remove('x');
    expect(() => used.setRegisters(at(2), ['y'], [2])).toThrow(
      expect.objectContaining({ code: 'TYPE_MISMATCH' }),
    );
    const m = ORMap.empty();
    expect(() => m.setRegisters(at(2), ['a', 'b'], [1, Number.NaN])).toThrow(
      expect.objectContaining({ code: 'NOT_JSON' }),
    );
    expect(() => m.setRegisters(at(2.5), ['a'], [1])).toThrow(
      expect.objectContaining({ code: 'BAD_TIMESTAMP' }),
    );
    expect(m.equals(ORMap.empty())).toBe(true);
  });

  it('rejects an update function that returns the wrong type', () => {
    const m = ORMap.empty();
    expect(() => m.update(A, 'x', ORSet, () => Flag.empty() as never)).toThrow(
      expect.objectContaining({ code: 'TYPE_MISMATCH' }),
    );
  });
});

describe('bad arguments', () => {
  it('rejects non-JSON values with NOT_JSON and changes nothing', () => {
    const s = ORSet.empty();
    expect(() => s.add(A, undefined as never)).toThrow(expect.objectContaining({ code: 'NOT_JSON' }));
    expect(() => s.add(A, Number.NaN)).toThrow(expect.objectContaining({ code: 'NOT_JSON' }));
    expect(() => s.add(A, new Date() as never)).toThrow(expect.objectContaining({ code: 'NOT_JSON' }));
    expect(s.equals(ORSet.empty())).toBe(true);
  });

  it('rejects empty replica ids', () => {
    expect(() => replicaId('')).toThrow(expect.objectContaining({ code: 'BAD_REPLICA_ID' }));
  });
});
