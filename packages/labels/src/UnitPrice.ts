/**
 * Unit prices, as shelf labels must show them beside the price (EU Directive 98/6/EC: per
 * kilogram or litre; per item for goods sold by number).
 */

/** What a pack holds, in the unit a unit price is quoted per. */
export interface PackSize {
  /** How many of `per` the pack holds: 0.5 for 500 g quoted per kg. */
  readonly amount: number;
  readonly per: 'kg' | 'l' | 'item';
}

/** Factors from the units a pack is labelled in to the unit its price is quoted per. */
const UNITS: Readonly<Record<string, { factor: number; per: PackSize['per'] }>> = {
  g: { factor: 0.001, per: 'kg' },
  kg: { factor: 1, per: 'kg' },
  ml: { factor: 0.001, per: 'l' },
  cl: { factor: 0.01, per: 'l' },
  l: { factor: 1, per: 'l' },
  each: { factor: 1, per: 'item' },
  pack: { factor: 1, per: 'item' },
  item: { factor: 1, per: 'item' },
};

/** A quantity at the end of a product name: "Milk 500g", "Juice 1.5 l", "Cola 330 ml". */
const IN_NAME = /(\d+(?:[.,]\d+)?)\s*(kg|g|ml|cl|l)\s*$/i;

/**
 * The pack size of a product: from `size` and `unit` when both are given (500 and "g"), else from
 * a quantity ending its name; undefined when neither says (no unit price is shown then).
 */
export function packSize(size: unknown, unit: unknown, name: unknown): PackSize | undefined {
  if (typeof size === 'number' && typeof unit === 'string') {
    const u = UNITS[unit.toLowerCase()];
    if (u && Number.isFinite(size) && size > 0) return { amount: size * u.factor, per: u.per };
  }
  if (typeof name === 'string') {
    const m = IN_NAME.exec(name);
    if (m) {
      const u = UNITS[m[2]!.toLowerCase()]!;
      const amount = Number(m[1]!.replace(',', '.')) * u.factor;
      if (amount > 0) return { amount, per: u.per };
    }
  }
  return undefined;
}

/** The price per kg, litre or item, rounded to the cent as it is printed. */
export function unitPrice(price: number, pack: PackSize): number {
  return Math.round((price / pack.amount) * 100) / 100;
}
