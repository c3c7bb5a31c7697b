/**
 * pdfjs-dist is imported when a PDF is read, never with the testkit: its legacy build (Node 20
 * needs it) replaces JSON.stringify with core-js's (for JSON.rawJSON), 6.5 times slower on a
 * product — in every bench worker, since they use the testkit: the feed's publisher among them.
 */
const pdfjs = () => import('pdfjs-dist/legacy/build/pdf.mjs');

/** The text of each page of a PDF, as a reader extracts it (pdfjs-dist), items joined by spaces. */
export async function pdfText(pdf: Uint8Array): Promise<string[]> {
  const { getDocument } = await pdfjs();
  const doc = await getDocument({ data: pdf.slice(), disableFontFace: true, useSystemFonts: false }).promise;
  const pages: string[] = [];
  for (let i = 1; i <= doc.numPages; i++) {
    const content = await (await doc.getPage(i)).getTextContent();
    pages.push(content.items.map((item) => ('str' in item ? item.str : '')).join(' '));
  }
  await doc.destroy();
  return pages;
}

/** The stroke colours (`#rrggbb`) each page draws with, from its operators (pdfjs-dist). */
export async function strokeColours(pdf: Uint8Array): Promise<Array<Set<string>>> {
  const { getDocument, OPS } = await pdfjs();
  const doc = await getDocument({ data: pdf.slice(), disableFontFace: true, useSystemFonts: false }).promise;
  const pages: Array<Set<string>> = [];
  for (let i = 1; i <= doc.numPages; i++) {
    const ops = await (await doc.getPage(i)).getOperatorList();
    const colours = new Set<string>();
    ops.fnArray.forEach((fn, k) => {
      if (fn !== OPS.setStrokeRGBColor) return;
      const args = ops.argsArray[k] as unknown[];
      colours.add(
        typeof args[0] === 'string'
          ? args[0].toLowerCase()
          : `#${(args as number[]).map((c) => Math.round(c).toString(16).padStart(2, '0')).join('')}`,
      );
    });
    pages.push(colours);
  }
  await doc.destroy();
  return pages;
}
