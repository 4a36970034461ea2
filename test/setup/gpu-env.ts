/**
 * Points Dawn (the `webgpu` npm package) at Chromium's SwiftShader Vulkan driver on machines
 * without a usable GPU driver. Must run before the process that loads Dawn starts: vitest's
 * config calls it in the main process, and forked workers inherit `process.env`.
 *
 * Why not only "when no ICD is installed": Debian's mesa ships ICD files (lavapipe, intel, radeon)
 * even on machines with no GPU, and Dawn then finds no adapter (lavapipe 22.3 is too old).
 * So SwiftShader is chosen whenever no GPU device node exists, or no ICD file is installed.
 * A user-provided `VK_ICD_FILENAMES` (or `VK_DRIVER_FILES`) always wins.
 *
 * @example
 * import { configureGpuEnv } from './test/setup/gpu-env';
 * const { notes } = configureGpuEnv();
 * for (const n of notes) console.log(n);
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM_LIB_DIR = '/usr/lib/chromium';
export const SWIFTSHADER_ICD = `${CHROMIUM_LIB_DIR}/vk_swiftshader_icd.json`;

const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
const LIBVULKAN_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
  '/lib/x86_64-linux-gnu',
  '/lib/aarch64-linux-gnu',
];

export interface GpuEnvResult {
  /** One line per variable set, saying why. */
  notes: string[];
  /** `LD_LIBRARY_PATH` was changed: it only affects child processes (glibc reads it at start-up). */
  restartRequired: boolean;
}

function listIcdFiles(): string[] {
  return ICD_DIRS.flatMap((dir) => {
    try {
      return readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => join(dir, f));
    } catch {
      return [];
    }
  });
}

function hasGpuDeviceNode(): boolean {
  try {
    if (readdirSync('/dev/dri').some((f) => f.startsWith('renderD'))) return true;
  } catch {
    /* no DRM devices */
  }
  return existsSync('/dev/nvidia0') || existsSync('/dev/dxg');
}

function hasSystemLibvulkan(): boolean {
  return LIBVULKAN_DIRS.some((dir) => existsSync(join(dir, 'libvulkan.so.1')));
}

/** Dawn's Vulkan loader complains on stderr when XDG_RUNTIME_DIR is unset; give it a private one. */
function ensureXdgRuntimeDir(env: NodeJS.ProcessEnv, notes: string[]): void {
  if (env.XDG_RUNTIME_DIR || typeof process.getuid !== 'function') return;
  const dir = join(tmpdir(), `webgpu-attention-xdg-${process.getuid()}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = statSync(dir);
    if (st.uid !== process.getuid() || (st.mode & 0o077) !== 0) return;
    env.XDG_RUNTIME_DIR = dir;
    notes.push(`XDG_RUNTIME_DIR=${dir} (was unset)`);
  } catch {
    /* only cosmetic */
  }
}

/**
 * Sets `VK_ICD_FILENAMES`, `LD_LIBRARY_PATH` and `XDG_RUNTIME_DIR` on `env` (default
 * `process.env`) so that Dawn gets a Vulkan adapter. Idempotent; never overrides the user's choice.
 */
export function configureGpuEnv(env: NodeJS.ProcessEnv = process.env): GpuEnvResult {
  const notes: string[] = [];
  let restartRequired = false;
  if (process.platform !== 'linux') return { notes, restartRequired };
  const userChoice = env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES;
  if (!userChoice && existsSync(SWIFTSHADER_ICD)) {
    const icds = listIcdFiles();
    if (icds.length === 0 || !hasGpuDeviceNode()) {
      env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
      notes.push(
        `VK_ICD_FILENAMES=${SWIFTSHADER_ICD} (${icds.length === 0 ? 'no Vulkan ICD installed' : 'no GPU device node'})`,
      );
    }
  }
  const ldPaths = (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  if (
    !hasSystemLibvulkan() &&
    existsSync(join(CHROMIUM_LIB_DIR, 'libvulkan.so.1')) &&
    !ldPaths.includes(CHROMIUM_LIB_DIR)
  ) {
    env.LD_LIBRARY_PATH = [CHROMIUM_LIB_DIR, ...ldPaths].join(':');
    notes.push(`LD_LIBRARY_PATH+=${CHROMIUM_LIB_DIR} (no system libvulkan.so.1)`);
    restartRequired = true;
  }
  ensureXdgRuntimeDir(env, notes);
  return { notes, restartRequired };
}

/**
 * For a script that loads Dawn in its own process (the bench): configures the environment and,
 * when `LD_LIBRARY_PATH` had to change, runs the same command again in a child process and exits
 * with its status (the running process cannot pick the new library path up).
 *
 * @example
 * import { configureGpuEnvOrRelaunch } from '../test/setup/gpu-env';
 * configureGpuEnvOrRelaunch();            // first line of bench/run.ts, before importing 'webgpu'
 */
export function configureGpuEnvOrRelaunch(): void {
  const { restartRequired } = configureGpuEnv();
  if (!restartRequired || process.env.WEBGPU_ATTENTION_RELAUNCHED) return;
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, WEBGPU_ATTENTION_RELAUNCHED: '1' },
  });
  process.exit(child.status ?? 1);
}
