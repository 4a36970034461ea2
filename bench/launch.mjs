// `npm run bench`: loads bench/run.ts through Vite's SSR loader (the library imports shaders with
// `?raw`, which plain Node cannot), after pointing Dawn at a Vulkan driver (test/setup/gpu-env.ts).
// Usage: node bench/launch.mjs [--quick] [--json FILE] [--no-ort] [--script bench/other.ts]
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const scriptAt = args.indexOf('--script');
const entry = scriptAt >= 0 ? `/${args.splice(scriptAt, 2)[1].replace(/^\/+/, '')}` : '/bench/run.ts';

const server = await createServer({
  root, configFile: false, logLevel: 'error', appType: 'custom',
  server: { middlewareMode: true, hmr: false, ws: false, watch: null },
  optimizeDeps: { noDiscovery: true, include: [] },
});
let status = 1;
try {
  const env = await server.ssrLoadModule('/test/setup/gpu-env.ts');
  env.configureGpuEnvOrRelaunch(); // exits here (with the child's status) when it had to relaunch
  const bench = await server.ssrLoadModule(entry);
  status = (await bench.main(args)) ?? 0;
} catch (error) {
  console.error(error);
} finally {
  await server.close();
}
process.exit(status);
