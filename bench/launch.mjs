// `npm run bench`: loads bench/run.ts through Vite's SSR loader (the library imports its shaders
// with `?raw`, which plain Node cannot), after pointing Dawn at a Vulkan driver where the machine
// has no GPU (test/setup/gpu-env.ts). Arguments go to bench/run.ts's main().
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
  const bench = await server.ssrLoadModule('/bench/run.ts');
  status = await bench.main(process.argv.slice(2));
} catch (error) {
  console.error(error);
} finally {
  await server.close();
}
process.exit(status);
