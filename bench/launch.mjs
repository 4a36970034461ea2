// `npm run bench`: loads bench/run.ts through Vite's SSR loader (the library imports its shaders
// with `?raw`, which plain Node cannot), after pointing Dawn at a Vulkan driver where the machine
// has no GPU (test/setup/gpu-env.ts). Arguments go to bench/run.ts's main(), or with a first
// argument `--module NAME` to bench/NAME.ts's (the bench:ab and bench:ort-prefill scripts).
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';

const server = await createServer({
  root: fileURLToPath(new URL('..', import.meta.url)),
  configFile: false,
  logLevel: 'error',
  appType: 'custom',
  server: { middlewareMode: true, hmr: false, ws: false, watch: null },
  optimizeDeps: { noDiscovery: true, include: [] },
});
// Time what users get: Dawn with its default features (the test ring turns one off to compile faster).
process.env.NODE_GPU_DEFAULTS = '1';
let status = 1;
try {
  const env = await server.ssrLoadModule('/test/setup/gpu-env.ts');
  env.configureGpuEnvOrRelaunch(); // exits here, with the child's status, when it had to relaunch
  const args = process.argv.slice(2);
  const module = args[0] === '--module' ? args[1] : 'run';
  const bench = await server.ssrLoadModule(`/bench/${module}.ts`);
  status = await bench.main(args[0] === '--module' ? args.slice(2) : args);
} catch (error) {
  console.error(error);
} finally {
  await server.close();
}
process.exit(status);
