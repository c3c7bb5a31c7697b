import type { LabelFonts } from '@concord/labels';
import regularUrl from 'dejavu-fonts-ttf/ttf/DejaVuSans.ttf?url';
import boldUrl from 'dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf?url';

let fonts: Promise<LabelFonts> | undefined;

/** The labels' fonts (DejaVu: €, £ and accented letters), fetched as the page's assets once. */
export function labelFonts(): Promise<LabelFonts> {
  fonts ??= (async () => {
    const [regular, bold] = await Promise.all(
      [regularUrl, boldUrl].map(async (url) => {
        const res = await fetch(url);
        if (!res.ok) throw new Error(`the label font ${url} could not be fetched (${res.status})`);
        return new Uint8Array(await res.arrayBuffer());
      }),
    );
    return { regular: regular!, bold: bold! };
  })();
  // A failed fetch (offline before the fonts were ever cached) is tried again next time.
  fonts.catch(() => {
    fonts = undefined;
  });
  return fonts;
}
