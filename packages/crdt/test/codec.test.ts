import {
  CausalContext,
  decodeCausalContext,
  decodeCrdt,
  decodeTimestamp,
  decodeVersionVector,
  encodeCausalContext,
  encodeCrdt,
  encodeTimestamp,
  encodeVersionVector,
  Flag,
  FORMAT_VERSION,
  GCounter,
  GSet,
  MAX_DEPTH,
  newReplicaId,
  ORMap,
  ORSet,
  replicaId,
  VersionVector,
} from '@concord/crdt';
import { Decoder, Encoder } from '@concord/crdt/internal';
import { decodeError } from '@concord/testkit';
import { describe, expect, it } from 'vitest';

const A = replicaId('a');

/** A message with a hand-written body, to build hostile inputs the encoder would never produce. */
function message(kind: number, body: (enc: Encoder) => void): Uint8Array {
  const enc = new Encoder();
  body(enc);
  return enc.finish(FORMAT_VERSION, kind);
}

describe('binary codec', () => {
  it('writes each replica id once per message, 128-bit ids in 16 bytes', () => {
    const id = newReplicaId();
    const s = ORSet.empty();
    for (let i = 0; i < 50; i++) s.add(id, i);
    const bytes = encodeCrdt(s);
    // 2 header bytes, table count, id flag + 16 bytes; every dot after that refers to index 0.
    expect(bytes.length).toBeLessThan(2 + 1 + 17 + 50 * 6 + 10);
    const hex = new TextEncoder().encode(id);
    const asText = Buffer.from(bytes).includes(Buffer.from(hex));
    expect(asText).toBe(false);
    expect((decodeCrdt(bytes) as ORSet).value()).toEqual(s.value());
  });

  it("writes a run id as its replica's place in the table and the run, the replica put there if absent", () => {
    const writers = [newReplicaId(), replicaId('a')];
    for (const w of writers) {
      // Only run ids in the body: the first entry is one, its replica is added after it.
      const m = ORMap.empty();
      for (let i = 0; i < 200; i++) m.update(w, `c${i}`, GCounter, (c, as) => c.increment(as, 1));
      const bytes = encodeCrdt(m);
      const back = decodeCrdt(bytes) as ORMap;
      expect(back.equals(m)).toBe(true);
      expect(back.value()).toEqual(m.value());
      // 200 counters of as many runs: a few bytes each in the table, not the replica's id again.
      const plain = ORMap.empty();
      for (let i = 0; i < 200; i++) plain.update(w, `c${i}`, GCounter, (c) => c.increment(w, 1));
      expect(bytes.length).toBeLessThan(encodeCrdt(plain).length + 200 * 8);
    }
  });

  it('refuses a run id naming no replica, or another run id, as its replica', () => {
    // A table of 'a' and the form-2 entries given (three bytes each).
    const header = (...entries: number[]) => {
      const enc = new Encoder();
      enc.uint(0);
      const body = enc.finishRaw();
      return new Uint8Array([FORMAT_VERSION, 1, 1 + entries.length / 3, 1, 1, 97, ...entries, ...body]);
    };
    // Table: 'a', then a run of index 0 (fine), 5 (beyond the table) or 1 (itself a run).
    expect(new Decoder(header(2, 0, 7)).header(FORMAT_VERSION)).toBe(1);
    expect(decodeError(() => new Decoder(header(2, 5, 7)).header(FORMAT_VERSION)).code).toBe('BAD_VALUE');
    expect(decodeError(() => new Decoder(header(2, 1, 7)).header(FORMAT_VERSION)).code).toBe('BAD_VALUE');
    expect(decodeError(() => new Decoder(header(2, 0, 0)).header(FORMAT_VERSION)).code).toBe('BAD_VALUE');
    // Two runs: one of the other (made first or not), or the same run twice.
    expect(new Decoder(header(2, 0, 7, 2, 0, 8)).header(FORMAT_VERSION)).toBe(1);
    expect(decodeError(() => new Decoder(header(2, 0, 7, 2, 1, 8)).header(FORMAT_VERSION)).code).toBe(
      'BAD_VALUE',
    );
    expect(decodeError(() => new Decoder(header(2, 2, 7, 2, 0, 8)).header(FORMAT_VERSION)).code).toBe(
      'BAD_VALUE',
    );
    expect(decodeError(() => new Decoder(header(2, 0, 7, 2, 0, 7)).header(FORMAT_VERSION)).code).toBe(
      'BAD_VALUE',
    );
  });

  it('keeps a raw prefix in front of the message, which decodes after it as it would alone', () => {
    const vv = new VersionVector([
      [A, 7],
      [newReplicaId(), 3],
    ]);
    const enc = new Encoder();
    enc.string('prefix');
    expect(() => {
      const named = new Encoder();
      named.replica(A);
      named.startMessage();
    }).toThrow(TypeError);
    expect(enc.length).toBe(7);
    enc.startMessage();
    vv.encodeTo(enc);
    const bodyLength = enc.length - 7;
    const bytes = enc.finish(FORMAT_VERSION, 7);
    const dec = new Decoder(bytes);
    expect(dec.string()).toBe('prefix');
    // The body — a count, then an index and a number per entry — ends the message.
    expect(bodyLength).toBe(5);
    expect([...bytes.subarray(bytes.length - bodyLength)]).toEqual([2, 0, 7, 1, 3]);
    const alone = new Encoder();
    vv.encodeTo(alone);
    expect(bytes.subarray(bytes.length - dec.remaining)).toEqual(alone.finish(FORMAT_VERSION, 7));
  });

  it('round-trips strings at every width of their length prefix, ASCII or not', () => {
    const texts: string[] = [];
    for (const n of [0, 1, 42, 127, 128, 129, 5461, 5462, 16383, 16384, 16385, 700_000]) {
      texts.push('a'.repeat(n), 'é'.repeat(n), '€'.repeat(n), `${'x'.repeat(n)}😀`);
    }
    const enc = new Encoder();
    for (const t of texts) enc.string(t);
    const dec = new Decoder(enc.finish(FORMAT_VERSION, 7));
    dec.header(FORMAT_VERSION);
    for (const t of texts) expect(dec.string()).toBe(t);
    dec.end();
  });

  it('gives a large message written after reserve exactly, with or without a prefix and replicas', () => {
    const body = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 31) % 251);
    for (const prefix of ['', 'the JSON before it'])
      for (const vv of [new VersionVector(), new VersionVector([[A, 3]])]) {
        const enc = new Encoder();
        if (prefix) {
          enc.string(prefix);
          enc.startMessage();
        }
        vv.encodeTo(enc);
        enc.reserve(body.length + 4);
        enc.bytes(body);
        enc.uint(2 ** 20);
        const out = enc.finish(FORMAT_VERSION, 7);
        const dec = new Decoder(out);
        if (prefix) expect(dec.string()).toBe(prefix);
        dec.header(FORMAT_VERSION);
        expect(VersionVector.decodeFrom(dec).equals(vv)).toBe(true);
        expect(dec.bytes(body.length)).toEqual(body);
        expect(dec.uint()).toBe(2 ** 20);
        dec.end(); // nothing after it: the buffer's spare room is not part of the message
      }
  });

  it('puts a header too big for the room left before the body in front of it all the same', () => {
    // Four hex ids and two long text ids: the replica table outgrows the room the encoder keeps.
    const ids = [newReplicaId(), newReplicaId(), newReplicaId(), newReplicaId(), replicaId('x'.repeat(60))];
    for (const prefix of ['', 'the JSON before it']) {
      const vv = new VersionVector(ids.map((id, i) => [id, i + 1] as const));
      const enc = new Encoder();
      if (prefix) {
        enc.string(prefix);
        enc.startMessage();
      }
      vv.encodeTo(enc);
      const dec = new Decoder(enc.finish(FORMAT_VERSION, 7));
      if (prefix) expect(dec.string()).toBe(prefix);
      dec.header(FORMAT_VERSION);
      expect(VersionVector.decodeFrom(dec).equals(vv)).toBe(true);
      dec.end();
    }
  });

  it('round-trips version vectors, causal contexts and timestamps', () => {
    const vv = new VersionVector([
      [A, 7],
      [replicaId('b'), 2 ** 40],
    ]);
    expect(decodeVersionVector(encodeVersionVector(vv)).equals(vv)).toBe(true);
    const ctx = CausalContext.of([
      { replica: A, seq: 1 },
      { replica: A, seq: 9 },
    ]);
    expect(decodeCausalContext(encodeCausalContext(ctx)).equals(ctx)).toBe(true);
    const ts = { wall: 1_700_000_000_000, logical: 3, replica: A };
    expect(decodeTimestamp(encodeTimestamp(ts))).toEqual(ts);
  });

  it('refuses a message of another kind than asked for', () => {
    const bytes = encodeCrdt(GCounter.empty());
    expect(decodeError(() => decodeVersionVector(bytes)).code).toBe('BAD_TAG');
    expect(decodeError(() => decodeCrdt(bytes, GSet)).code).toBe('BAD_TAG');
  });

  it('rejects a wrong version, an unknown tag, trailing bytes and every truncation', () => {
    const good = encodeCrdt(GCounter.empty().increment(A, 5));
    expect(decodeError(() => decodeCrdt(Uint8Array.of(99, ...good.subarray(1)))).code).toBe('BAD_VERSION');
    expect(decodeError(() => decodeCrdt(Uint8Array.of(FORMAT_VERSION, 60, 0))).code).toBe('BAD_TAG');
    expect(decodeError(() => decodeCrdt(Uint8Array.of(...good, 0))).code).toBe('TRAILING_BYTES');
    for (let n = 0; n < good.length; n++) {
      expect(['TRUNCATED', 'BAD_LENGTH']).toContain(decodeError(() => decodeCrdt(good.subarray(0, n))).code);
    }
  });

  it('rejects a tiny message declaring a huge count without allocating for it', () => {
    const huge = message(GSet.tag, (enc) => enc.uint(2 ** 50));
    const e = decodeError(() => decodeCrdt(huge));
    expect(e.code).toBe('BAD_LENGTH');
    const hugeString = message(GSet.tag, (enc) => {
      enc.uint(1);
      enc.byte(5); // JSON string
      enc.uint(2 ** 40);
    });
    expect(decodeError(() => decodeCrdt(hugeString)).code).toBe('BAD_LENGTH');
  });

  it('rejects nesting deeper than MAX_DEPTH, in JSON and in maps', () => {
    const deepJson = message(GSet.tag, (enc) => {
      enc.uint(1);
      for (let i = 0; i < 100_000; i++) {
        enc.byte(6); // array of one
        enc.uint(1);
      }
      enc.byte(0);
    });
    expect(decodeError(() => decodeCrdt(deepJson)).code).toBe('TOO_DEEP');

    const nest = (m: ORMap, depth: number): ORMap =>
      depth === 0
        ? m.update(A, 'leaf', Flag, (f) => f.enable(A))
        : m.update(A, 'k', ORMap, (c) => nest(c, depth - 1));
    const ok = ORMap.empty();
    nest(ok, MAX_DEPTH - 1);
    expect(decodeCrdt(encodeCrdt(ok)).equals(ok)).toBe(true);
    const tooDeep = ORMap.empty();
    nest(tooDeep, MAX_DEPTH);
    expect(decodeError(() => decodeCrdt(encodeCrdt(tooDeep))).code).toBe('TOO_DEEP');
  });

  it('rejects a store holding a dot its causal context does not cover', () => {
    const bad = message(ORSet.tag, (enc) => {
      enc.uint(0); // empty version vector
      enc.uint(0); // empty dot cloud
      enc.uint(1); // one element
      enc.byte(0); // null
      enc.uint(1); // one dot
      enc.replica(A);
      enc.uint(1);
    });
    expect(decodeError(() => decodeCrdt(bad)).code).toBe('BAD_VALUE');
  });

  it('rejects integers beyond 2^53, invalid UTF-8 and duplicate keys', () => {
    const overflow = message(GCounter.tag, (enc) => {
      enc.uint(1);
      enc.replica(A);
      enc.bytes(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01));
    });
    expect(decodeError(() => decodeCrdt(overflow)).code).toBe('BAD_VALUE');
    const badUtf8 = message(GSet.tag, (enc) => {
      enc.uint(1);
      enc.byte(5);
      enc.uint(2);
      enc.bytes(Uint8Array.of(0xc3, 0x28));
    });
    expect(decodeError(() => decodeCrdt(badUtf8)).code).toBe('BAD_VALUE');
    const dupKey = message(GSet.tag, (enc) => {
      enc.uint(1);
      enc.byte(7);
      enc.uint(2);
      for (let i = 0; i < 2; i++) {
        enc.string('k');
        enc.byte(0);
      }
    });
    expect(decodeError(() => decodeCrdt(dupKey)).code).toBe('BAD_VALUE');
  });

  it('keeps a hostile "__proto__" key as plain data', () => {
    const bytes = message(GSet.tag, (enc) => {
      enc.uint(1);
      enc.byte(7);
      enc.uint(1);
      enc.string('__proto__');
      enc.byte(2);
    });
    const [value] = (decodeCrdt(bytes) as GSet).value() as [Record<string, unknown>];
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__']);
  });
});
