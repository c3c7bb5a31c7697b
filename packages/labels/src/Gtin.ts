/**
 * GTINs as shelf labels print them: EAN-13, and UPC-A (a GTIN-12, an EAN-13 with a leading 0).
 * The check digit is GS1's mod-10 (GS1 General Specifications §7.9.1): digits weighted 3 and 1
 * alternately from the right, the check digit bringing the sum to a multiple of ten.
 */

export type GtinKind = 'ean13' | 'upca';

export type Gtin = { ok: true; kind: GtinKind; digits: string } | { ok: false; reason: string };

/** The GS1 check digit of `digits` (the code without its check digit). */
export function gtinCheckDigit(digits: string): number {
  if (!/^\d+$/.test(digits)) throw new RangeError(`not digits: ${JSON.stringify(digits)}`);
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    const d = digits.charCodeAt(digits.length - 1 - i) - 48;
    sum += i % 2 === 0 ? d * 3 : d;
  }
  return (10 - (sum % 10)) % 10;
}

/** `code` read as an EAN-13 (13 digits) or a UPC-A (12), its check digit verified. */
export function parseGtin(code: unknown): Gtin {
  const s = typeof code === 'number' && Number.isSafeInteger(code) ? String(code) : code;
  if (typeof s !== 'string' || s.trim() === '') return { ok: false, reason: 'no barcode' };
  const digits = s.trim();
  if (!/^\d+$/.test(digits))
    return { ok: false, reason: `barcode ${JSON.stringify(digits)} is not all digits` };
  if (digits.length !== 13 && digits.length !== 12)
    return {
      ok: false,
      reason: `barcode ${digits} has ${digits.length} digits, not 12 (UPC-A) or 13 (EAN-13)`,
    };
  const want = gtinCheckDigit(digits.slice(0, -1));
  const got = digits.charCodeAt(digits.length - 1) - 48;
  if (got !== want)
    return { ok: false, reason: `barcode ${digits} has check digit ${got}, expected ${want}` };
  return { ok: true, kind: digits.length === 13 ? 'ean13' : 'upca', digits };
}
