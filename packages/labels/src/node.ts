import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { LabelFonts } from './renderLabels.js';

const require = createRequire(import.meta.url);

/**
 * DejaVu Sans and DejaVu Sans Bold (the `dejavu-fonts-ttf` package; free, with €, £, accented
 * Latin, Greek and Cyrillic): the fonts labels embed when the caller brings none. Node only;
 * a page fetches the same files as assets.
 */
export function defaultFonts(): LabelFonts {
  const file = (name: string) =>
    new Uint8Array(readFileSync(require.resolve(`dejavu-fonts-ttf/ttf/${name}`)));
  return { regular: file('DejaVuSans.ttf'), bold: file('DejaVuSans-Bold.ttf') };
}
