/**
 * `npm start` (vite): serves the demo page, root `demo/`.
 * `npm run build` (vite build): library mode, `src/index.ts` → `dist/webgpu-attention.js` (ESM).
 * Shaders come in through `?raw` imports and are inlined as strings. `webgpu` (Dawn for Node) is
 * never bundled, and package dependencies (`wgsl_reflect`) stay imports, resolved by the user's
 * installer or bundler.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const projectRoot = fileURLToPath(new URL('.', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};
const keptAsImports = ['webgpu', ...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})];

/** True for `name` and `name/sub/path` of every package that must not be bundled. */
export function isExternal(id: string): boolean {
  return keptAsImports.some((name) => id === name || id.startsWith(`${name}/`));
}

export default defineConfig(({ command }) => ({
  root: command === 'serve' ? fileURLToPath(new URL('./demo', import.meta.url)) : projectRoot,
  publicDir: false,
  server: {
    host: '127.0.0.1',
    fs: { allow: [projectRoot] },
  },
  optimizeDeps: {
    // Listed up front so the dev server never re-optimises (and reloads the page) mid-run.
    include: ['wgsl_reflect/wgsl_reflect.module.js'],
  },
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    minify: false,
    lib: {
      entry: fileURLToPath(new URL('./src/index.ts', import.meta.url)),
      formats: ['es'],
      fileName: () => 'webgpu-attention.js',
    },
    rolldownOptions: {
      external: isExternal,
    },
  },
}));
