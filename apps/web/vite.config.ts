import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

export default defineConfig({
  plugins: [react()],
  // The packages' TypeScript sources (their `source` export condition): the page builds without
  // building them first. `@concord/db` imports no Node module: nothing is marked external.
  resolve: { conditions: ['source', ...defaultClientConditions] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      // The page, and the storage acceptance suite run inside the browser by the e2e test.
      input: { main: 'index.html', acceptance: 'acceptance.html' },
    },
  },
});
