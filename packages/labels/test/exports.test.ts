import { describe, expect, it } from 'vitest';

/** The package's public API, pinned: adding or removing an export is a decision made here. */
describe('@concord/labels exports', () => {
  it('@concord/labels', async () => {
    expect(Object.keys(await import('@concord/labels')).sort()).toEqual([
      'PRINTED',
      'PROMO_SIGN',
      'SHELF_STRIP',
      'TEMPLATES',
      'TemplateError',
      'builtInTemplate',
      'checkTemplate',
      'gatherImages',
      'gtinCheckDigit',
      'labelChanged',
      'labelFingerprint',
      'packSize',
      'parseGtin',
      'printQueue',
      'printedFingerprints',
      'printedLabels',
      'renderLabels',
      'unitPrice',
    ]);
  });
  it('@concord/labels/node', async () => {
    expect(Object.keys(await import('@concord/labels/node')).sort()).toEqual(['defaultFonts']);
  });
});
