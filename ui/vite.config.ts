import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Everything is bundled (Monaco and its worker included): the UI never loads from a CDN,
// so it works offline. Relative base: the same build serves from `atelier serve` and Tauri.
export default defineConfig({
  base: './',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 4096 },
  test: { environment: 'jsdom', include: ['src/**/*.test.{ts,tsx}'] },
});
