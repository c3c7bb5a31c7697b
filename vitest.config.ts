import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';
import SummaryReporter from './vitest.summary.js';

// Tests run the packages' TypeScript sources (their `source` export condition), not `dist`.
export default defineConfig({
  resolve: { conditions: ['source', ...defaultClientConditions] },
  ssr: { resolve: { conditions: ['source', ...defaultServerConditions] } },
  test: {
    include: ['packages/*/test/**/*.test.{ts,tsx}', 'apps/*/test/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 60_000,
    reporters: ['default', new SummaryReporter()],
  },
});
