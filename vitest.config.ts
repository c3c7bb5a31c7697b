import { defineConfig } from 'vitest/config';
import SummaryReporter from './vitest.summary.js';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 60_000,
    reporters: ['default', new SummaryReporter()],
  },
});
