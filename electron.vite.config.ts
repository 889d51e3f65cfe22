import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';
import { resolve } from 'node:path';

const r = (p: string) => resolve(import.meta.dirname, p);

// Three bundles, one per environment: main (Node + Electron), preload (sandboxed, CommonJS,
// self-contained so zod travels inside it) and renderer (browser only).
export default defineConfig({
  main: {
    build: {
      outDir: r('out/main'),
      lib: { entry: r('main/index.ts'), formats: ['es'] },
      externalizeDeps: true,
    },
  },
  preload: {
    build: {
      outDir: r('out/preload'),
      lib: { entry: r('preload/index.ts'), formats: ['cjs'] },
      externalizeDeps: false,
      rollupOptions: { external: ['electron'], output: { entryFileNames: '[name].cjs' } },
    },
  },
  renderer: {
    root: r('renderer'),
    base: './',
    plugins: [react()],
    build: {
      outDir: r('out/renderer'),
      rollupOptions: { input: r('renderer/index.html') },
      sourcemap: false,
    },
  },
});
