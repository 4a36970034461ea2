/**
 * The two files the wgpu ring hands to Deno, both in `.vite/wgpu-ring/` (ignored by git; never
 * dist/, so the ring does not clobber a user's `npm run build`):
 * - `lib/webgpu-attention.js`: the library as `npm run build` makes it (the project's vite.config.ts),
 *   the bundle users get; it imports `wgsl_reflect`, which Deno resolves from node_modules;
 * - `runner/runner.js`: test/wgpu/runner/main.ts with the case tables, the float64 reference and the
 *   shader sources (`?raw`) bundled in, one ESM file with no imports, since Deno has no Vite.
 *
 * @example
 * const { lib, runner } = await buildForDeno(projectRoot);
 */
import { join } from 'node:path';
import { build } from 'vite';

export interface DenoBuild {
  lib: string;
  runner: string;
  /** What the runner bundle imports: must be nothing. */
  runnerImports: string[];
}

function chunksOf(out: Awaited<ReturnType<typeof build>>) {
  return (Array.isArray(out) ? out : [out]).flatMap((o) => ('output' in o ? o.output : []));
}

export async function buildForDeno(projectRoot: string): Promise<DenoBuild> {
  const outDir = join(projectRoot, '.vite', 'wgpu-ring');
  await build({
    configFile: join(projectRoot, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir: join(outDir, 'lib'), emptyOutDir: true, sourcemap: false },
  });
  const runner = await build({
    configFile: false,
    root: projectRoot,
    publicDir: false,
    logLevel: 'warn',
    build: {
      outDir: join(outDir, 'runner'),
      emptyOutDir: true,
      target: 'es2022',
      minify: false,
      lib: { entry: join(projectRoot, 'test/wgpu/runner/main.ts'), formats: ['es'], fileName: () => 'runner.js' },
    },
  });
  const runnerImports = chunksOf(runner).flatMap((c) =>
    c.type === 'chunk' ? [...c.imports, ...c.dynamicImports] : [],
  );
  return {
    lib: join(outDir, 'lib', 'webgpu-attention.js'),
    runner: join(outDir, 'runner', 'runner.js'),
    runnerImports,
  };
}
