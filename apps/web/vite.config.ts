import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      // The page, and the storage acceptance suite run inside the browser by the e2e test.
      input: { main: 'index.html', acceptance: 'acceptance.html' },
      // packages/db imports its Node-only storage and WebSocket libraries lazily, on the paths a
      // browser never takes: they stay out of the bundle.
      external: ['better-sqlite3', 'pg', 'ws'],
    },
  },
});
