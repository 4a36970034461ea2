// `npm run bench:pack`: builds dist-bench/, a folder that runs the benchmark on another machine
// with only Node (≥ 20.19) and a GPU, without network:
//   bench.mjs, chunks/      bench/run.ts and the library bundled by Vite (shaders inlined), from bench/pack-entry.ts
//   node_modules/webgpu/    the `webgpu` package's loader and Dawn's native module (dawn.node) for this platform
//   node_modules/onnxruntime-web/  the files ORT's WebGPU build loads (its ESM bundle and the asyncify wasm)
//   lib/libvulkan.so.1      the Vulkan loader from this machine's Chromium (a GPU machine may lack one)
//   run.sh                  LD_LIBRARY_PATH=lib, VK_ICD_FILENAMES as set, else NVIDIA's ICD if present; node bench.mjs "$@"
// Usage: npm run bench:pack && cp -r dist-bench elsewhere && elsewhere/run.sh --quick --only decode
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'dist-bench');
const platform = `${process.platform}-${process.platform === 'darwin' ? 'universal' : process.arch}`;
const LIBVULKAN = '/usr/lib/chromium/libvulkan.so.1';

rmSync(out, { recursive: true, force: true });
await build({
  root,
  configFile: false,
  logLevel: 'warn',
  build: {
    ssr: 'bench/pack-entry.ts',
    outDir: out,
    emptyOutDir: true,
    target: 'node20',
    minify: false,
    reportCompressedSize: false,
    rollupOptions: {
      external: ['webgpu', /^onnxruntime-web(\/.*)?$/],
      output: { format: 'es', entryFileNames: 'bench.mjs', chunkFileNames: 'chunks/[name]-[hash].mjs' },
    },
  },
  ssr: { noExternal: true, external: ['webgpu', 'onnxruntime-web'] },
});

/** Copies `files` (relative to node_modules/name) into dist-bench/node_modules/name. */
function copyPackage(name, files) {
  for (const file of files) {
    const from = join(root, 'node_modules', name, file);
    const to = join(out, 'node_modules', name, file);
    if (!existsSync(from)) throw new Error(`bench:pack: ${from} is missing (npm install first?)`);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
  }
}

const dawn = `dist/${platform}/dawn.node`;
copyPackage('webgpu', ['package.json', 'index.js', 'LICENSE.md', dawn]);
copyPackage('onnxruntime-web', [
  'package.json',
  'dist/ort.webgpu.bundle.min.mjs',
  'dist/ort-wasm-simd-threaded.asyncify.mjs',
  'dist/ort-wasm-simd-threaded.asyncify.wasm',
]);

let vulkan = 'no Vulkan loader copied (not on this machine): the GPU machine must have libvulkan.so.1';
if (process.platform === 'linux' && existsSync(LIBVULKAN)) {
  mkdirSync(join(out, 'lib'), { recursive: true });
  copyFileSync(LIBVULKAN, join(out, 'lib', 'libvulkan.so.1'));
  vulkan = `lib/libvulkan.so.1 from ${LIBVULKAN}`;
}

writeFileSync(
  join(out, 'run.sh'),
  `#!/bin/sh
# Runs the packed webgpu-attention bench: ./run.sh [bench options], e.g. ./run.sh --quick --only decode
# (options as for npm run bench; see the project's README, Benchmarks). Needs node (>= 20.19) on PATH.
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
# The Vulkan loader that came with the pack (a GPU machine may have none installed).
if [ -f "$here/lib/libvulkan.so.1" ]; then
  export LD_LIBRARY_PATH="$here/lib\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# The driver: VK_ICD_FILENAMES if set, else NVIDIA's ICD where installed, else whatever the loader finds.
if [ -z "\${VK_ICD_FILENAMES:-}" ]; then
  for icd in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$icd" ]; then
      export VK_ICD_FILENAMES="$icd"
      break
    fi
  done
fi
echo "run.sh: LD_LIBRARY_PATH=\${LD_LIBRARY_PATH:-} VK_ICD_FILENAMES=\${VK_ICD_FILENAMES:-(unset: the loader's search)}" >&2
exec node "$here/bench.mjs" "$@"
`,
);
chmodSync(join(out, 'run.sh'), 0o755);

const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
writeFileSync(
  join(out, 'README.txt'),
  `webgpu-attention ${version} bench, packed by npm run bench:pack on ${platform}.\n` +
    `Run: ./run.sh [--quick] [--only sdpa|local|mha|decode] [--json out.json] (Node >= 20.19 and a GPU; no network).\n` +
    `Contents: bench.mjs + chunks/ (the bench and the library), node_modules/webgpu (Dawn, ${platform} only),\n` +
    `node_modules/onnxruntime-web (its WebGPU build), ${vulkan}.\n`,
);
console.log(`dist-bench/ written (${platform}; ${vulkan}). Run: dist-bench/run.sh --quick --only decode`);
