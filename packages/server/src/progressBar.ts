/**
 * `concord feed publish`'s progress on a terminal: `[#######-------------]  35%
 * 35,000/100,000 products, 21,400/s, ETA 4 s`. `total` is an estimate (a file's lines): the bar
 * never passes 100% when more come.
 */
export function progressBar(done: number, total: number, seconds: number): string {
  const rate = seconds > 0 ? done / seconds : 0;
  const of = Math.max(total, done);
  const share = of > 0 ? done / of : 0;
  const width = 20;
  const filled = Math.round(share * width);
  const eta = rate > 0 ? Math.ceil((of - done) / rate) : undefined;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(share * 100)).padStart(3)}% ${done.toLocaleString('en')}/${of.toLocaleString('en')} products, ${Math.round(rate).toLocaleString('en')}/s, ETA ${eta === undefined ? '?' : `${eta} s`}   `;
}
