/**
 * Deno for the wgpu ring, from the npm registry only: the `deno` dev dependency installs the
 * platform package `@deno/<os>-<arch>[-glibc]` (an optional dependency), which holds the binary.
 * The binary is taken from the platform package itself, so the ring works when npm skips the
 * `deno` package's postinstall (which only copies it next to `bin.cjs`).
 *
 * @example
 * const deno = findDeno();
 * if ('reason' in deno) console.log(`wgpu ring skipped: ${deno.reason}`);
 * else spawn(deno.path, ['run', '--unstable-webgpu', 'x.js'], { env: denoGpuEnv() });
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { configureGpuEnv } from './gpu-env';

/** The platform package npm installs for this machine, or why there is none. */
export function denoPackage(): { name: string } | { reason: string } {
  const arch = process.arch === 'x64' || process.arch === 'arm64' ? process.arch : null;
  if (!arch) return { reason: `Deno publishes no binary for the CPU '${process.arch}' (only x64 and arm64)` };
  if (process.platform === 'linux') {
    const glibc = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header
      ?.glibcVersionRuntime;
    if (!glibc) return { reason: 'Deno publishes Linux binaries for glibc only, and this system has another libc' };
    return { name: `@deno/linux-${arch}-glibc` };
  }
  if (process.platform === 'darwin' || process.platform === 'win32')
    return { name: `@deno/${process.platform}-${arch}` };
  return { reason: `Deno publishes no binary for the platform '${process.platform}'` };
}

/**
 * The Deno binary of the installed platform package, or why the wgpu ring cannot run here;
 * `installable` says whether npm publishes Deno for this platform (then its absence is a broken install).
 */
export function findDeno(): { path: string } | { reason: string; installable: boolean } {
  const pkg = denoPackage();
  if ('reason' in pkg) return { ...pkg, installable: false };
  let dir: string;
  try {
    dir = dirname(createRequire(import.meta.url).resolve(`${pkg.name}/package.json`));
  } catch {
    return {
      reason:
        `${pkg.name} is not installed: it comes with the 'deno' dev dependency ` +
        '(npm installs the optional dependency that matches this platform); run `npm ci`',
      installable: true,
    };
  }
  const path = join(dir, process.platform === 'win32' ? 'deno.exe' : 'deno');
  if (!existsSync(path))
    return { reason: `${pkg.name} has no binary at ${path}: reinstall it with \`npm ci\``, installable: true };
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return { reason: `${path} is not executable: reinstall ${pkg.name} with \`npm ci\``, installable: true };
  }
  return { path };
}

/**
 * The environment for Deno's WebGPU: the Node ring's Vulkan set-up (gpu-env.ts: SwiftShader's ICD
 * where there is no GPU, Chromium's libvulkan where the system has none), and Vulkan only. Without
 * `DENO_WEBGPU_BACKEND=vulkan`, wgpu would fall back to OpenGL (Mesa's llvmpipe) when Vulkan is
 * missing, and the ring would quietly test another driver. A user's own value wins.
 */
export function denoGpuEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env = { ...base };
  configureGpuEnv(env);
  env.DENO_WEBGPU_BACKEND ??= 'vulkan';
  env.DENO_NO_UPDATE_CHECK = '1';
  env.NO_COLOR = '1';
  return env;
}
