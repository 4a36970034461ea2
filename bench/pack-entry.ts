/**
 * The entry of the packed bench (`npm run bench:pack` bundles it into dist-bench/bench.mjs): what
 * bench/launch.mjs does without Vite. The environment is set before the bench (and with it Dawn)
 * is imported; where LD_LIBRARY_PATH had to change, the same command is run again in a child.
 */
import { configureGpuEnvOrRelaunch } from '../test/setup/gpu-env';

// Time what users get: Dawn with its default features (as bench/launch.mjs).
process.env.NODE_GPU_DEFAULTS = '1';
configureGpuEnvOrRelaunch(); // exits here, with the child's status, when it had to relaunch
let status = 1;
try {
  const bench = await import('./run');
  status = await bench.main(process.argv.slice(2));
} catch (error) {
  console.error(error);
}
process.exit(status);
