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
    // The labels page carries pdfkit, fontkit and bwip-js (1.5 MB; the main page none of it).
    chunkSizeWarningLimit: 1600,
    // The service worker (public/sw.js) caches every file the manifest lists.
    manifest: 'asset-manifest.json',
    rollupOptions: {
      // The page; the storage acceptance suite and the shelf labels, run inside the browser by
      // the e2e test (and the labels by the bench).
      input: { main: 'index.html', acceptance: 'acceptance.html', labels: 'labels.html' },
    },
  },
});
