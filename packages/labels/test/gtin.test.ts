import { gtinCheckDigit, parseGtin } from '@concord/labels';
import { describe, expect, it } from 'vitest';

describe('GTIN check digits (GS1 mod 10)', () => {
  it('computes the check digit of known codes', () => {
    expect(gtinCheckDigit('400638133393')).toBe(1); // EAN-13 4006381333931
    expect(gtinCheckDigit('590123412345')).toBe(7); // EAN-13 5901234123457, GS1's example
    expect(gtinCheckDigit('03600029145')).toBe(2); // UPC-A 036000291452
    expect(gtinCheckDigit('000000000000')).toBe(0);
  });

  it('agrees with the definition on every 12-digit prefix of a seeded sample', () => {
    let seed = Number(process.env.SEED ?? 7);
    for (let n = 0; n < 500; n++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const digits = String(seed).padStart(12, '0').slice(0, 12);
      const sum = [...digits].reduce((s, d, i) => s + Number(d) * (i % 2 === 0 ? 1 : 3), 0);
      expect(gtinCheckDigit(digits), `SEED=${process.env.SEED ?? 7}, ${digits}`).toBe((10 - (sum % 10)) % 10);
    }
  });

  it('reads EAN-13 and UPC-A, and says what is wrong with anything else', () => {
    expect(parseGtin('4006381333931')).toEqual({ ok: true, kind: 'ean13', digits: '4006381333931' });
    expect(parseGtin('036000291452')).toEqual({ ok: true, kind: 'upca', digits: '036000291452' });
    expect(parseGtin(4006381333931)).toMatchObject({ ok: true, kind: 'ean13' });
    expect(parseGtin('4006381333932')).toEqual({
      ok: false,
      reason: 'barcode 4006381333932 has check digit 2, expected 1',
    });
    expect(parseGtin(undefined)).toEqual({ ok: false, reason: 'no barcode' });
    expect(parseGtin('40063813339')).toMatchObject({ ok: false });
    expect(parseGtin('40063813339x1')).toMatchObject({ ok: false });
    expect(() => gtinCheckDigit('12a')).toThrow(RangeError);
  });
});
