import { DecodeError, decodeCrdt, encodeCrdt, merge, replicaId, Text } from '@concord/crdt';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const A = replicaId('alice');
const B = replicaId('bob');
const C = replicaId('carol');

/** Two replicas that start from `base`, as if both had synced it. */
function pair(base: string): [Text, Text] {
  const a = Text.empty();
  a.insert(C, 0, base);
  return [a, a.clone()];
}

/** Types `word` one keystroke at a time, forwards (each character after the last) or backwards (each before). */
function type(t: Text, who: typeof A, pos: number, word: string, backwards = false): void {
  if (backwards) for (const ch of [...word].reverse()) t.insert(who, pos, ch);
  else
    [...word].forEach((ch, i) => {
      t.insert(who, pos + i, ch);
    });
}

describe('Text', () => {
  it('inserts and deletes by UTF-16 position', () => {
    const t = Text.empty();
    t.insert(A, 0, 'hello world');
    t.delete(A, 5, 6);
    t.insert(A, 5, ', there');
    expect(t.value()).toBe('hello, there');
    expect(t.length).toBe(12);
  });

  it('refuses positions out of range and inside a surrogate pair, changing nothing', () => {
    const t = Text.empty();
    t.insert(A, 0, 'a😀b');
    expect(() => t.insert(A, 9, 'x')).toThrow(expect.objectContaining({ code: 'BAD_POSITION' }));
    expect(() => t.insert(A, 2, 'x')).toThrow(expect.objectContaining({ code: 'SPLITS_SURROGATE' }));
    expect(() => t.delete(A, 1, 1)).toThrow(expect.objectContaining({ code: 'SPLITS_SURROGATE' }));
    t.delete(A, 1, 2);
    expect(t.value()).toBe('ab');
  });

  it('checks surrogate pairs that arrived from another replica, joined or decoded', () => {
    const a = Text.empty();
    a.insert(A, 0, 'x😀y');
    const joined = Text.empty().join(a);
    const decoded = decodeCrdt(encodeCrdt(a), Text);
    for (const t of [joined, decoded, a.clone()]) {
      expect(() => t.insert(B, 2, '!')).toThrow(expect.objectContaining({ code: 'SPLITS_SURROGATE' }));
    }
  });

  describe('concurrent runs never interleave (Weidner & Kleppmann 2023)', () => {
    const cases: Array<[string, boolean, boolean]> = [
      ['forwards / forwards', false, false],
      ['backwards / backwards', true, true],
      ['forwards / backwards', false, true],
    ];
    it.each(cases)('%s', (_name, backA, backB) => {
      const [a, b] = pair('[]');
      type(a, A, 1, 'hello', backA);
      type(b, B, 1, 'world', backB);
      const ab = merge(a, b).value();
      expect(ab).toBe(merge(b, a).value());
      expect(['[helloworld]', '[worldhello]']).toContain(ab);
    });

    it('holds for three replicas typing at one place, with a run of one replica split by its own later typing', () => {
      const [a, b] = pair('..');
      const c = a.clone();
      type(a, A, 1, 'one');
      type(b, B, 1, 'two');
      type(c, C, 1, 'three');
      type(a, A, 2, 'X'); // inside its own word: o X ne
      const m = merge(merge(a, b), c).value();
      expect(m).toBe(merge(c, merge(b, a)).value());
      for (const word of ['oXne', 'two', 'three']) expect(m).toContain(word);
    });
  });

  it('a delete concurrent with an insert inside the deleted range keeps the insert', () => {
    const [a, b] = pair('abcdef');
    a.delete(A, 1, 4);
    b.insert(B, 3, 'XY');
    expect(merge(a, b).value()).toBe('aXYf');
    expect(merge(b, a).value()).toBe('aXYf');
  });

  it('holds deltas that arrive before what they depend on, and applies them when it arrives', () => {
    const a = Text.empty();
    const d1 = a.insert(A, 0, 'abc');
    const d2 = a.insert(B, 1, 'X');
    const d3 = a.delete(A, 0, 1);
    const b = Text.empty();
    b.join(d3).join(d2);
    expect(b.value()).toBe('');
    b.join(d1);
    expect(b.value()).toBe('Xbc');
    expect(b.equals(a)).toBe(true);
  });

  it('runs of typing and of backspacing stay compact', () => {
    const t = Text.empty();
    type(t, A, 0, 'x'.repeat(1000));
    for (let i = 1000; i > 500; i--) t.delete(A, i - 1, 1);
    const bytes = encodeCrdt(t).length;
    expect(t.value()).toBe('x'.repeat(500));
    expect(bytes).toBeLessThan(1000 + 40);
  });

  it('converges whatever the order and duplication of delivery', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(2), fc.nat(50), fc.nat(3), fc.string({ minLength: 1, maxLength: 3 })), {
          maxLength: 40,
        }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 80 }),
        (ops, order) => {
          const replicas = [Text.empty(), Text.empty(), Text.empty()];
          const ids = [A, B, C];
          const deltas: Text[] = [];
          for (const [who, pos, del, s] of ops) {
            const t = replicas[who]!;
            const p = pos % (t.length + 1);
            const d =
              del > 0 && p < t.length
                ? t.delete(ids[who]!, p, Math.min(del, t.length - p))
                : t.insert(ids[who]!, p, s.replace(/[\uD800-\uDFFF]/g, 'x'));
            deltas.push(d);
            if (order[deltas.length % order.length]! % 3 === 0) replicas[(who + 1) % 3]!.join(d);
          }
          const shuffled = order
            .map((k) => deltas[k % Math.max(deltas.length, 1)])
            .filter((d) => d !== undefined);
          const target = Text.empty();
          for (const d of [...shuffled, ...deltas]) target.join(d);
          const all = replicas.reduce((acc, r) => acc.join(r), Text.empty());
          expect(target.value()).toBe(all.value());
          expect(target.equals(all)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rejects a record naming an element that does not exist, as a DecodeError', () => {
    const t = Text.empty();
    t.insert(A, 0, 'abc'); // alice's elements 1..3
    t.delete(A, 0, 1); // op 4 deletes (alice, 1)
    t.delete(A, 1, 1); // op 5 deletes (alice, 3), written last as seq - target = 2, zig-zag 4
    const bytes = encodeCrdt(t);
    expect(bytes[bytes.length - 1]).toBe(4);
    expect(decodeCrdt(bytes, Text).value()).toBe('b');
    // Forge op 5 to delete (alice, 4): that number is a deletion, not an element.
    const forged = Uint8Array.of(...bytes.subarray(0, -1), 2);
    let error: unknown;
    try {
      decodeCrdt(forged, Text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as DecodeError).code).toBe('BAD_VALUE');
  });
});

describe('Text anchors', () => {
  it('stay attached to their element across concurrent inserts and deletes', () => {
    const [a, b] = pair('hello world');
    const cursor = a.anchor(6); // before 'w'
    const afterHello = a.anchor(5, 'before'); // just after 'o'
    b.insert(B, 0, '>> ');
    b.delete(B, 3 + 5, 1); // the space
    a.join(b);
    expect(a.value()).toBe('>> helloworld');
    expect(a.resolve(cursor)).toBe(8);
    expect(a.resolve(afterHello)).toBe(8);
    expect(a.value().slice(a.resolve(cursor))).toBe('world');
  });

  it('land where their element stood once it is deleted, and at the ends for the ends', () => {
    const t = Text.empty();
    t.insert(A, 0, 'abcdef');
    const onD = t.anchor(3);
    const end = t.anchor(6);
    const start = t.anchor(0, 'before');
    t.delete(A, 2, 3);
    t.insert(A, 0, 'X');
    expect(t.value()).toBe('Xabf');
    expect(t.resolve(onD)).toBe(3);
    expect(t.resolve(end)).toBe(4);
    expect(t.resolve(start)).toBe(0);
    expect(() => t.anchor(99)).toThrow(expect.objectContaining({ code: 'BAD_POSITION' }));
  });
});
