/**
 * The rings, one per project:
 *   reference: test/reference/**  pure TypeScript, the float64 CPU reference
 *   unit:      test/unit/**       pure TypeScript: every kernel's plan against several devices' limits,
 *                                 and the layering of src/ read from its imports
 *   node:      test/node/**       every kernel through Dawn (`webgpu`), forked workers
 *   browser:   test/browser/**    headless Chromium via puppeteer-core against a page Vite serves
 *   wgpu:      test/wgpu/**       the built bundle in Deno (`deno` dev dependency) on wgpu, Firefox's engine
 * Run one with `npx vitest run --project node`.
 *
 * The GPU environment (SwiftShader's Vulkan ICD for Dawn and Deno's wgpu) is set here, in the main process, so
 * that forked workers start with it: Dawn reads it when it loads, too late to set it in a test.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { configureGpuEnv } from './test/setup/gpu-env.js';

configureGpuEnv();

const projectRoot = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: projectRoot,
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'reference',
          include: ['test/reference/**/*.test.ts'],
          environment: 'node',
          // Host-only work (float64 references up to L = 1024): seconds on a quiet 2-core machine, more on a busy one.
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // Host-only work (float64 references up to L = 1024): seconds on a quiet 2-core machine, more on a busy one.
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'node',
          include: ['test/node/**/*.test.ts'],
          environment: 'node',
          pool: 'forks',
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          environment: 'node',
          pool: 'forks',
          // One headless Chromium at a time: the machine may have 2 cores.
          fileParallelism: false,
          testTimeout: 300_000,
          // The case table runs in one hook (one page load); the test gives the page 900 s.
          hookTimeout: 960_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'wgpu',
          include: ['test/wgpu/**/*.test.ts'],
          environment: 'node',
          pool: 'forks',
          testTimeout: 120_000,
          // One Deno process runs everything in the hook; the test gives it 900 s.
          hookTimeout: 960_000,
        },
      },
    ],
  },
});
