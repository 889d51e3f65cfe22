import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// The dev host's stand-in for Electron's preload: one classic script served from the app's origin.
export default defineConfig({
  build: {
    outDir: resolve(import.meta.dirname, 'out/devhost'),
    emptyOutDir: true,
    lib: { entry: resolve(import.meta.dirname, 'preload/devhost.ts'), formats: ['iife'], name: 'KoeDevhostBridge', fileName: () => 'bridge.js' },
    minify: false,
  },
});
