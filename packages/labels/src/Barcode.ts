import bwipjs from 'bwip-js';
import type { GtinKind } from './Gtin.js';

/** A barcode as vectors in a box: bars as rectangles, human-readable digits as text, in points. */
export interface BarcodeShape {
  readonly bars: ReadonlyArray<{ x: number; y: number; width: number; height: number }>;
  /** The human-readable digits in groups, one slot (`pitch` points) apart within a group. */
  readonly digits: ReadonlyArray<{ text: string; firstCenterX: number; pitch: number; top: number }>;
  readonly fontSize: number;
}

/** Modules left of the first bar, where EAN-13 and UPC-A print their first digit. */
const LEFT = 8;
/** Modules right of the last bar: UPC-A prints its check digit there. */
const RIGHT: Record<GtinKind, number> = { ean13: 3, upca: 8 };
/** A digit's advance in DejaVu Sans, in ems: what the digit size is fitted by. */
const DIGIT_EM = 0.636;

/**
 * The bars of `digits` (a verified EAN-13 or UPC-A) from bwip-js, laid out in a `width` × `height`
 * point box the way GS1 prints them (GS1 General Specifications §5.2.5): guard bars longer, the
 * digits under the bars in groups, the first (and for UPC-A the last) outside them.
 */
export function barcodeShape(kind: GtinKind, digits: string, width: number, height: number): BarcodeShape {
  // bwip-js encodes (and checks the check digit again); we draw: sbs is bar, space, bar, … in
  // modules, and a bar whose bottom (bbs) is below 0 is a long guard bar.
  const [symbol] = bwipjs.raw(kind, digits, {}) as Array<{ sbs: number[]; bbs: number[] }>;
  const { sbs, bbs } = symbol!;
  const modules = sbs.reduce((a, b) => a + b, 0);
  const mw = width / (LEFT + modules + RIGHT[kind]);
  const fontSize = Math.min((7 * mw) / DIGIT_EM, height * 0.24);
  const barBottom = height - fontSize;
  const guardBottom = height - fontSize * 0.5;
  const bars: Array<{ x: number; y: number; width: number; height: number }> = [];
  let at = 0;
  for (let i = 0; i < sbs.length; i++) {
    if (i % 2 === 0) {
      const long = (bbs[i / 2] ?? 0) < 0;
      bars.push({ x: (LEFT + at) * mw, y: 0, width: sbs[i]! * mw, height: long ? guardBottom : barBottom });
    }
    at += sbs[i]!;
  }
  // Digit slots are 7 modules; the left half starts after the 3-module start guard, the right
  // half after the 5-module centre guard (module 50).
  const slot = (half: 0 | 1, k: number) => (LEFT + (half === 0 ? 3 : 50) + 7 * k + 3.5) * mw;
  const outsideLeft = (LEFT - 4) * mw;
  const outsideRight = (LEFT + modules + 4) * mw;
  const top = barBottom + fontSize * 0.02;
  const pitch = 7 * mw;
  const group = (text: string, firstCenterX: number) => ({ text, firstCenterX, pitch, top });
  const placed =
    kind === 'ean13'
      ? [
          group(digits[0]!, outsideLeft),
          group(digits.slice(1, 7), slot(0, 0)),
          group(digits.slice(7), slot(1, 0)),
        ]
      : // UPC-A: the first and last digits are encoded under long bars and printed outside.
        [
          group(digits[0]!, outsideLeft),
          group(digits.slice(1, 6), slot(0, 1)),
          group(digits.slice(6, 11), slot(1, 0)),
          group(digits[11]!, outsideRight),
        ];
  return { bars, digits: placed, fontSize };
}
