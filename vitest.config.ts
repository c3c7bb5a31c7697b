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
    // Two files at a time on this 2-core machine (Vitest's default is one fewer than the cores:
    // here, one): most of the slow files wait on processes, sockets, NATS or Chromium.
    maxWorkers: 2,
    reporters: ['default', new SummaryReporter()],
  },
});
