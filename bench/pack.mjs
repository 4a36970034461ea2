// `npm run bench:pack`: builds dist-bench/, a folder that runs the benchmark on a bare x86-64 Linux
// machine with a GPU driver: no Node, no network. Contents:
//   run.sh                   unpacks, finds a Vulkan driver, times PyTorch where it can, runs the bench (bench/pack-run.sh)
//   bench.mjs, chunks/       bench/run.ts and the library bundled by Vite (shaders inlined), from bench/pack-entry.ts
//   bin/node.gz              this machine's Node binary (process.execPath), gzip-compressed
//   node_modules/webgpu/     the `webgpu` package's loader and Dawn's native module (dawn.node.gz) for this platform
//   node_modules/onnxruntime-web/  the files ORT's WebGPU build loads (its ESM bundle and the asyncify wasm, .gz)
//   lib/libvulkan.so.1       the Vulkan loader from this machine's Chromium (a GPU machine may lack one)
//   torch-sdpa.py            PyTorch's scaled_dot_product_attention on the same shapes (the native ceiling)
// The large files (Node ~95 MiB, Dawn ~21 MiB, ORT's wasm ~26 MiB) travel gzip-compressed (gzip is on
// every Linux; xz is not) so that the folder stays under 60 MiB; run.sh unpacks the whole folder
// once per pack into ${TMPDIR:-/tmp}/webgpu-attention-bench-<uid>-<pack id>.
// Usage: npm run bench:pack [-- --out DIR] && cp -r dist-bench elsewhere && elsewhere/run.sh --quick
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { build } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
// --out DIR: write the pack elsewhere (the test packs into a scratch folder).
const outAt = process.argv.indexOf('--out');
const out = outAt > 0 && process.argv[outAt + 1] ? resolve(process.argv[outAt + 1]) : join(root, 'dist-bench');
const platform = `${process.platform}-${process.platform === 'darwin' ? 'universal' : process.arch}`;
const LIBVULKAN = '/usr/lib/chromium/libvulkan.so.1';
const LIMIT_MIB = 60;

// Only an earlier pack (or an empty folder) is ever removed.
if (existsSync(out) && readdirSync(out).length > 0 && !existsSync(join(out, 'bench.mjs')))
  throw new Error(`bench:pack: ${out} is not empty and holds no earlier pack; give an empty or new folder`);
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

/** Copies `from` to the pack's `to`. */
function copy(from, to) {
  if (!existsSync(from)) throw new Error(`bench:pack: ${from} is missing (npm install first?)`);
  mkdirSync(dirname(join(out, to)), { recursive: true });
  copyFileSync(from, join(out, to));
}

/** Copies `files` (relative to node_modules/name) into the pack's node_modules/name. */
function copyPackage(name, files) {
  for (const file of files) copy(join(root, 'node_modules', name, file), join('node_modules', name, file));
}

const dawn = `node_modules/webgpu/dist/${platform}/dawn.node`;
const ortWasm = 'node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.wasm';
copyPackage('webgpu', ['package.json', 'index.js', 'LICENSE.md', `dist/${platform}/dawn.node`]);
copyPackage('onnxruntime-web', [
  'package.json',
  'dist/ort.webgpu.bundle.min.mjs',
  'dist/ort-wasm-simd-threaded.asyncify.mjs',
  'dist/ort-wasm-simd-threaded.asyncify.wasm',
]);
copy(process.execPath, 'bin/node');
copy(join(root, 'bench', 'torch-sdpa.py'), 'torch-sdpa.py');

let vulkan = 'no Vulkan loader copied (not on this machine): the GPU machine must have libvulkan.so.1';
if (process.platform === 'linux' && existsSync(LIBVULKAN)) {
  copy(LIBVULKAN, 'lib/libvulkan.so.1');
  vulkan = `lib/libvulkan.so.1 from ${LIBVULKAN}`;
}

// Compressed side by side (zlib's threads), each replaced by its .gz; run.sh restores them.
const packed = ['bin/node', dawn, ortWasm];
await Promise.all(
  packed.map(async (file) => {
    const path = join(out, file);
    writeFileSync(`${path}.gz`, await promisify(gzip)(readFileSync(path), { level: 6 }));
    chmodSync(`${path}.gz`, statSync(path).mode & 0o777);
    rmSync(path);
  }),
);

/** Every file under `dir`, relative to the pack, sorted. */
function files(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [relative(out, join(dir, e.name))]))
    .sort();
}

// The pack's id: a digest of its contents, so that a changed pack unpacks into a fresh folder.
const digest = createHash('sha256');
for (const file of files(out)) digest.update(`${file}\0`).update(readFileSync(join(out, file)));
const packId = digest.digest('hex').slice(0, 16);

const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const built = `webgpu-attention ${version} bench, packed by npm run bench:pack on ${platform} with Node ${process.version}`;
const script = readFileSync(join(root, 'bench', 'pack-run.sh'), 'utf8')
  .replaceAll('@PACK_ID@', packId)
  .replaceAll('@PACKED@', packed.join(' '))
  .replaceAll('@BUILT@', built);
writeFileSync(join(out, 'run.sh'), script);
chmodSync(join(out, 'run.sh'), 0o755);
writeFileSync(
  join(out, 'README.txt'),
  `${built} (pack ${packId}).\n` +
    `Run: ./run.sh [--quick] [--info] [--only sdpa|local|mha|decode] [--peak-gflops N] [--json out.json]\n` +
    `(no Node needed; x86-64 Linux with glibc >= 2.28, libstdc++ and a Vulkan GPU driver; no network).\n` +
    `The report goes to stdout, progress to stderr. run.sh unpacks this folder once (about 145 MiB) into\n` +
    `\${TMPDIR:-/tmp}/webgpu-attention-bench-<uid>-${packId}; set WEBGPU_ATTENTION_BENCH_CACHE to choose another.\n` +
    `Contents: bench.mjs + chunks/ (the bench and the library), bin/node.gz (Node ${process.version}),\n` +
    `node_modules/webgpu (Dawn, ${platform} only), node_modules/onnxruntime-web (its WebGPU build),\n` +
    `torch-sdpa.py (PyTorch's SDPA on the same shapes, run where torch has CUDA), ${vulkan}.\n` +
    `See the project's README, "Benchmarks", for the options.\n`,
);

const mib = files(out).reduce((sum, file) => sum + statSync(join(out, file)).size, 0) / 2 ** 20;
console.log(`${relative(root, out) || out}/ written: ${mib.toFixed(1)} MiB, pack ${packId} (${platform}; ${vulkan}).`);
console.log(`Run: ${relative(process.cwd(), out)}/run.sh --quick   (or copy the folder to a GPU machine first)`);
if (mib >= LIMIT_MIB) {
  console.error(`bench:pack: ${out} is ${mib.toFixed(1)} MiB, over the ${LIMIT_MIB} MiB the pack must stay under`);
  process.exitCode = 1;
}
