/**
 * The demo as a static site: `npm run build:demo` writes dist-demo/ (git-ignored), which any static
 * host serves. Asset URLs are relative by default (base './'), so the folder works under any path;
 * set an absolute base with `npm run build:demo -- --base /some/path/` or DEMO_BASE=/some/path/.
 * `npm start` serves the same page from source with the project's vite.config.ts.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: process.env.DEMO_BASE ?? './',
  publicDir: false,
  server: { host: '127.0.0.1', fs: { allow: [projectRoot] } },
  preview: { host: '127.0.0.1' },
  worker: { format: 'es' },
  build: {
    outDir: fileURLToPath(new URL('../dist-demo', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // The page carries the library with every WGSL kernel inlined (about 570 kB before gzip).
    chunkSizeWarningLimit: 800,
  },
});
