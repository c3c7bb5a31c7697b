import { labelFingerprint, printedFingerprints, printedLabels, printQueue } from '@concord/labels';
import { describe, expect, it } from 'vitest';

const milk = { _id: 'p1', name: 'Milk 1l', price: 1.09, barcode: '4006381333931', stock: 40 };
const tea = { _id: 'p2', name: 'Tea', price: 2.5, barcode: '4006381333900', stock: 3 };

describe('the print queue', () => {
  it('holds what was never printed, and what changed on the label since', () => {
    const printed = new Map([
      ['p1', labelFingerprint(milk)],
      ['p2', labelFingerprint(tea)],
    ]);
    expect(printQueue([milk, tea], new Map())).toEqual([milk, tea]);
    expect(printQueue([milk, tea], printed)).toEqual([]);
    // Stock is not on the label: no reprint. A price, a sale, a name are.
    expect(printQueue([{ ...milk, stock: 1 }, tea], printed)).toEqual([]);
    const onSale = { ...tea, onSale: true, salePrice: 1.99 };
    expect(printQueue([{ ...milk, price: 1.19 }, onSale], printed).map((p) => p._id)).toEqual(['p1', 'p2']);
    // Renamed properties are followed.
    const renamed = { _id: 'p3', title: 'Jam', retail: 3 };
    const fields = { name: 'title', price: 'retail' };
    const printedJam = new Map([['p3', labelFingerprint(renamed, fields)]]);
    expect(printQueue([{ ...renamed, retail: 3.5 }], printedJam, fields)).toHaveLength(1);
    expect(printQueue([{ ...renamed, other: 1 }], printedJam, fields)).toHaveLength(0);
  });

  it('records what a store printed, one record per store and product, read back as the queue reads it', () => {
    const records = printedLabels('s1', [milk, tea], '2026-12-01T08:00:00.000Z');
    expect(records[0]).toEqual({
      _id: 's1/p1',
      store: 's1',
      product: 'p1',
      fingerprint: labelFingerprint(milk),
      printedAt: '2026-12-01T08:00:00.000Z',
    });
    expect(printQueue([milk, { ...tea, price: 2.75 }], printedFingerprints(records))).toEqual([
      { ...tea, price: 2.75 },
    ]);
  });
});
