// Builds dist/widget.js (one self-contained IIFE, no chunks, no CSS file: the CSS is inside the
// script) and copies public/ (the demo host page, dist/widget/demo.html).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  publicDir: 'public',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2020',
    copyPublicDir: true,
    sourcemap: false,
    lib: {
      entry: 'src/widget.ts',
      name: 'ParleyWidget',
      formats: ['iife'],
      fileName: () => 'widget.js',
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
