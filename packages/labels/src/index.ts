export { type Gtin, type GtinKind, gtinCheckDigit, parseGtin } from './Gtin.js';
export { gatherImages } from './gatherImages.js';
export type { LabelField, LabelFields, LabelWarning, LabelWarningCode } from './LabelData.js';
export {
  labelChanged,
  labelFingerprint,
  PRINTED,
  type PrintedLabel,
  printedFingerprints,
  printedLabels,
  printQueue,
} from './printQueue.js';
export { type LabelFonts, type RenderedLabels, type RenderOptions, renderLabels } from './renderLabels.js';
export {
  type BarcodeElement,
  type BoxElement,
  type Condition,
  checkTemplate,
  type ImageElement,
  type LabelElement,
  type LabelTemplate,
  type SheetLayout,
  TemplateError,
  type TextElement,
} from './Template.js';
export { builtInTemplate, PROMO_SIGN, SHELF_STRIP, TEMPLATES } from './templates.js';
export { type PackSize, packSize, unitPrice } from './UnitPrice.js';
