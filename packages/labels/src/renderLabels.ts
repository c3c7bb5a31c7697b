import PDFDocument from 'pdfkit';
import { barcodeShape } from './Barcode.js';
import {
  fill,
  formats,
  type LabelData,
  type LabelFields,
  type LabelWarning,
  labelData,
} from './LabelData.js';
import { type Condition, checkTemplate, type LabelTemplate, type TextElement } from './Template.js';

/** TrueType or OpenType font files: labels embed them (subset), so € £ and accents print anywhere. */
export interface LabelFonts {
  readonly regular: Uint8Array;
  readonly bold: Uint8Array;
}

export interface RenderOptions {
  readonly fonts: LabelFonts;
  /** BCP 47 locale for prices and dates; default `en-GB`. */
  readonly locale?: string;
  /** ISO 4217 currency of the prices; default `EUR`. */
  readonly currency?: string;
  /** Product properties of other names than the label fields'. */
  readonly fields?: LabelFields;
  /** The bytes (PNG or JPEG) of a product's image, by its key (an attachment's hash), if at hand. */
  readonly images?: (key: string) => Uint8Array | undefined;
  /** The document's title and creation date: fixed by default, so the same input gives the same bytes. */
  readonly title?: string;
  readonly created?: Date;
  /**
   * Awaited between slices of `SLICE` labels, so that rendering many does not hold the thread:
   * a server passes its turn-taking, a page a yield to the browser. None: one run.
   */
  readonly pause?: () => Promise<void>;
}

export interface RenderedLabels {
  /** The PDF: one label per product, in order, N-up on the template's sheets. */
  readonly pdf: Uint8Array;
  readonly labels: number;
  readonly sheets: number;
  /** What is wrong with which product; each such label is drawn marked in red. */
  readonly warnings: readonly LabelWarning[];
}

/** 2000-01-01: a creation date that says nothing, so output depends on the input alone. */
const FIXED_DATE = new Date(Date.UTC(2000, 0, 1));
const PT_PER_MM = 72 / 25.4;
const mm = (n: number) => n * PT_PER_MM;
const MARK = '#d0021b';
/** Labels drawn between two pauses: a few milliseconds of work (the bench renders 2,700/s in Node). */
const SLICE = 16;

/**
 * Renders one label per product on the template's sheets: text fitted to its box, prices and
 * unit prices formatted, the EAN-13 or UPC-A barcode drawn as vectors. A product with something
 * wrong (no price, a bad barcode, text that does not fit) still gets its label, marked with a red
 * frame and corner, and a warning; the template is checked first (`TemplateError`).
 */
export async function renderLabels(
  products: readonly unknown[],
  template: LabelTemplate,
  options: RenderOptions,
): Promise<RenderedLabels> {
  const layout = checkTemplate(template);
  const f = formats(options.locale ?? 'en-GB', options.currency ?? 'EUR');
  const doc = new PDFDocument({
    size: [mm(template.sheet.width), mm(template.sheet.height)],
    margin: 0,
    autoFirstPage: false,
    // No default font: pdfkit's (Helvetica, a standard PDF font) is not registered in its
    // browser build, and every text here names one of ours.
    font: '',
    info: {
      Title: options.title ?? `Labels (${template.name})`,
      Producer: 'Concord labels',
      Creator: 'Concord labels',
      CreationDate: options.created ?? FIXED_DATE,
    },
  });
  const chunks: Uint8Array[] = [];
  doc.on('data', (c: Uint8Array) => chunks.push(c));
  const ended = new Promise<void>((resolve, reject) => {
    doc.on('end', resolve);
    doc.on('error', reject);
  });
  doc.registerFont('regular', options.fonts.regular as Buffer);
  doc.registerFont('bold', options.fonts.bold as Buffer);

  const warnings: LabelWarning[] = [];
  const { sheet, label } = template;
  for (let i = 0; i < products.length; i++) {
    if (i > 0 && i % SLICE === 0) await options.pause?.();
    const place = i % layout.perSheet;
    if (place === 0) doc.addPage({ size: [mm(sheet.width), mm(sheet.height)], margin: 0 });
    const col = place % layout.columns;
    const row = Math.floor(place / layout.columns);
    const x = mm(sheet.marginLeft + col * (label.width + (sheet.gapX ?? 0)));
    const y = mm(sheet.marginTop + row * (label.height + (sheet.gapY ?? 0)));
    const data = labelData(products[i], i, options.fields ?? {}, f);
    drawLabel(doc, template, data, x, y, options);
    warnings.push(...data.warnings);
  }
  if (products.length === 0) doc.addPage({ size: [mm(sheet.width), mm(sheet.height)], margin: 0 });
  doc.end();
  await ended;
  return {
    pdf: concat(chunks),
    labels: products.length,
    sheets: Math.max(1, Math.ceil(products.length / layout.perSheet)),
    warnings,
  };
}

function drawLabel(
  doc: PDFKit.PDFDocument,
  t: LabelTemplate,
  data: LabelData,
  x: number,
  y: number,
  options: RenderOptions,
): void {
  const w = mm(t.label.width);
  const h = mm(t.label.height);
  if (t.label.border) doc.save().lineWidth(0.3).strokeColor('#999999').rect(x, y, w, h).stroke().restore();
  t.elements.forEach((e, i) => {
    if (!applies(e.when, data.onSale)) return;
    const ex = x + mm(e.x);
    const ey = y + mm(e.y);
    const ew = mm(e.width);
    const eh = mm(e.height);
    switch (e.type) {
      case 'box':
        doc.save().rect(ex, ey, ew, eh);
        if (e.fill && e.stroke) doc.fillAndStroke(e.fill, e.stroke);
        else if (e.fill) doc.fill(e.fill);
        else doc.stroke(e.stroke ?? '#000000');
        doc.restore();
        break;
      case 'text':
        drawText(doc, e, i, fill(e.text, data.values), ex, ey, ew, eh, data);
        break;
      case 'barcode':
        if (data.gtin.ok) {
          const shape = barcodeShape(data.gtin.kind, data.gtin.digits, ew, eh);
          doc.save().fillColor('#000000');
          for (const b of shape.bars) doc.rect(ex + b.x, ey + b.y, b.width, b.height);
          doc.fill();
          doc.font('regular').fontSize(shape.fontSize);
          for (const g of shape.digits) {
            // A group's digits one slot apart: its first centred on its slot, the rest by spacing.
            const dw = doc.widthOfString(g.text[0]!);
            doc.text(g.text, ex + g.firstCenterX - dw / 2, ey + g.top, {
              lineBreak: false,
              characterSpacing: g.pitch - dw,
            });
          }
          doc.restore();
        } else {
          doc
            .save()
            .fillColor(MARK)
            .font('regular')
            .fontSize(Math.min(7, eh * 0.4));
          doc.text('no valid barcode', ex, ey, { width: ew, height: eh, align: 'center' });
          doc.restore();
        }
        break;
      case 'image':
        drawImage(doc, data, ex, ey, ew, eh, options);
        break;
    }
  });
  if (data.warnings.length > 0) {
    // Marked so nobody hangs it on a shelf unchecked: a red frame and a red corner.
    const c = Math.min(w, h) * 0.18;
    doc
      .save()
      .lineWidth(1.5)
      .strokeColor(MARK)
      .rect(x + 0.75, y + 0.75, w - 1.5, h - 1.5)
      .stroke();
    doc
      .polygon([x + w - c, y], [x + w, y], [x + w, y + c])
      .fill(MARK)
      .restore();
  }
}

function applies(when: Condition | undefined, onSale: boolean): boolean {
  return when === undefined || when === 'always' || (when === 'onSale') === onSale;
}

/** Draws `text` shrunk (down to `minSize`) to fit its box in `lines` lines; cut with "…" and reported if it still does not. */
function drawText(
  doc: PDFKit.PDFDocument,
  e: TextElement,
  index: number,
  text: string,
  x: number,
  y: number,
  w: number,
  h: number,
  data: LabelData,
): void {
  if (text === '') return;
  const lines = e.lines ?? 1;
  const min = Math.min(e.minSize ?? e.size, e.size);
  doc.font(e.bold ? 'bold' : 'regular');
  let size = e.size;
  let room = 0;
  let width = 0;
  for (;;) {
    doc.fontSize(size);
    room = Math.min(h, lines * doc.currentLineHeight(true)) + 0.01;
    width = doc.widthOfString(text);
    // One line wide enough needs no wrapping to know it fits; several lines are wrapped to see.
    if (width <= w || (lines > 1 && doc.heightOfString(text, { width: w, lineGap: 0 }) <= room)) break;
    if (size <= min) {
      data.warnings.push({
        product: data.id,
        code: 'TEXT_TOO_LONG',
        message: `${JSON.stringify(text)} does not fit element ${index} (${e.text}) at ${min} pt`,
      });
      break;
    }
    size = Math.max(min, size - 0.5);
  }
  const color = (data.onSale ? e.saleColor : undefined) ?? e.color ?? '#000000';
  doc.save().fillColor(color);
  if (width <= w) {
    // On one line: placed directly, without pdfkit's line wrapper (most of the time labels take).
    const dx = e.align === 'right' ? w - width : e.align === 'center' ? (w - width) / 2 : 0;
    doc.text(text, x + dx, y, { lineBreak: false });
    // pdfkit strikes only wrapped text: through the middle of the line's figures, as it would.
    if (e.strike) {
      const mid = y + doc.currentLineHeight() * 0.45;
      doc
        .lineWidth(size < 10 ? 0.5 : Math.floor(size / 10))
        .strokeColor(color)
        .moveTo(x + dx, mid)
        .lineTo(x + dx + width, mid)
        .stroke();
    }
  } else {
    doc.text(text, x, y, {
      width: w,
      height: room,
      align: e.align ?? 'left',
      ellipsis: true,
      lineGap: 0,
      strike: e.strike ?? false,
    });
  }
  doc.restore();
}

function drawImage(
  doc: PDFKit.PDFDocument,
  data: LabelData,
  x: number,
  y: number,
  w: number,
  h: number,
  options: RenderOptions,
): void {
  if (!data.image) return;
  const bytes = options.images?.(data.image);
  if (bytes) {
    try {
      // An ArrayBuffer of its own: what pdfkit reads as image bytes in Node and in browsers alike.
      doc.image(bytes.slice().buffer, x, y, { fit: [w, h], align: 'center', valign: 'center' });
      return;
    } catch (err) {
      data.warnings.push({
        product: data.id,
        code: 'NO_IMAGE',
        message: `image ${data.image}: ${String(err)}`,
      });
    }
  } else {
    data.warnings.push({ product: data.id, code: 'NO_IMAGE', message: `image ${data.image} is not at hand` });
  }
  doc.save().lineWidth(0.5).strokeColor('#bbbbbb').rect(x, y, w, h).stroke().restore();
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
