import { Buffer } from 'node:buffer';
import { Decoder, Encoder, Interner } from '@concord/crdt/internal';
import { describe, expect, it } from 'vitest';

const hex = (bytes: readonly number[]) => bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
const id = (first: number) => Array.from({ length: 16 }, (_, i) => (first + i * 7) & 0xff);

/** A message holding `strings`, as `Encoder` writes them. */
function message(strings: readonly string[]): Uint8Array {
  const enc = new Encoder();
  for (const s of strings) enc.string(s);
  return enc.finish(1, 9);
}

function readAll(bytes: Uint8Array, n: number, interner?: Interner): string[] {
  const dec = new Decoder(bytes, undefined, interner);
  dec.header(1);
  return Array.from({ length: n }, () => dec.string());
}

describe('Interner', () => {
  it('spells hex ids as the bytes say, and hands the same string out again', () => {
    const interner = new Interner();
    const a = interner.hexId(new Uint8Array(id(1)), 0);
    expect(a).toBe(hex(id(1)));
    expect(interner.hexId(new Uint8Array([0, ...id(1)]), 1)).toBe(a);
    // Same first four bytes, different rest: not the cached id.
    const b = id(1);
    b[15] = b[15]! ^ 0xff;
    expect(interner.hexId(new Uint8Array(b), 0)).toBe(hex(b));
  });

  it('keeps its own copy of the bytes, not a view of a Buffer that changes later', () => {
    const interner = new Interner();
    const buf = Buffer.from(id(3));
    expect(interner.hexId(buf, 0)).toBe(hex(id(3)));
    // The caller reuses its buffer (as sockets and zlib do): a view would now match the new bytes.
    buf.set(id(3).map((b, i) => (i < 4 ? b : b ^ 0x55)));
    expect(interner.hexId(buf, 0)).toBe(hex([...buf]));
  });

  it('reads the strings a decoder without one reads, sharing the short ones', () => {
    const names = ['price', 'category', 'x'.repeat(24), 'y'.repeat(25), 'prïce', 'price'];
    const bytes = message(names);
    expect(readAll(bytes, names.length)).toEqual(names);
    const interner = new Interner();
    const first = readAll(bytes, names.length, interner);
    expect(first).toEqual(names);
    const again = readAll(message(['price']), 1, interner);
    expect(again[0]).toBe(first[0]);
  });

  it('answers right when two strings take turns in one slot', () => {
    const interner = new Interner();
    // Same length, first, middle and last byte: the same slot.
    const words = ['axbcd', 'aybcd', 'axbcd'];
    expect(readAll(message(words), 3, interner)).toEqual(words);
  });
});
