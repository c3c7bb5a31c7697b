import { describe, expect, it } from 'vitest';
import { progressBar } from '../src/progressBar.js';

describe('concord feed publish: the progress bar', () => {
  it('shows the share done, the rate and the time left', () => {
    expect(progressBar(35_000, 100_000, 2)).toBe(
      '[#######-------------]  35% 35,000/100,000 products, 17,500/s, ETA 4 s   ',
    );
  });

  it('knows no ETA before anything is done, and never passes 100% when the estimate was short', () => {
    expect(progressBar(0, 100, 0)).toMatch(/^\[-{20}\] {3}0% 0\/100 products, 0\/s, ETA \?/);
    expect(progressBar(120, 100, 1)).toMatch(/^\[#{20}\] 100% 120\/120 products, 120\/s, ETA 0 s/);
  });
});
