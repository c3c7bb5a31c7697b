import { packSize, unitPrice } from '@concord/labels';
import { describe, expect, it } from 'vitest';

describe('unit prices', () => {
  it('quotes grams and millilitres per kg and litre, items per item', () => {
    expect(packSize(500, 'g', 'x')).toEqual({ amount: 0.5, per: 'kg' });
    expect(packSize(75, 'cl', 'x')).toEqual({ amount: 0.75, per: 'l' });
    expect(packSize(6, 'pack', 'x')).toEqual({ amount: 6, per: 'item' });
    expect(unitPrice(1.245, { amount: 0.5, per: 'kg' })).toBe(2.49);
    expect(unitPrice(0.99, { amount: 0.33, per: 'l' })).toBe(3);
    expect(unitPrice(3.99, { amount: 6, per: 'item' })).toBe(0.67);
  });

  it('reads the pack size from the end of the name when size and unit do not say', () => {
    expect(packSize(undefined, 'kg', 'Brand A0 Milk 100g')).toEqual({ amount: 0.1, per: 'kg' });
    expect(packSize(undefined, undefined, 'Orange juice 1,5 l')).toEqual({ amount: 1.5, per: 'l' });
    expect(packSize(undefined, undefined, 'Cola 330 ml')?.per).toBe('l');
    expect(packSize(undefined, undefined, 'Soap')).toBeUndefined();
    expect(packSize(0, 'g', 'Soap')).toBeUndefined();
    expect(packSize(-1, 'g', 'Milk 1l')).toEqual({ amount: 1, per: 'l' });
  });
});
