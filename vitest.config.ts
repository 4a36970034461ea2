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
 * Files run two at a time even on a 2-core machine (Vitest's default there is one): nearly all of a
 * GPU file's time is SwiftShader compiling a pipeline, on one thread of the test's process (or of
 * Chromium's or Deno's), so one file at a time left a core idle. The wgpu ring and the browser ring's
 * case table, minutes each, start first, so that neither runs alone at the end.
 *
 * The GPU environment (SwiftShader's Vulkan ICD for Dawn and Deno's wgpu) is set here, in the main process, so
 * that forked workers start with it: Dawn reads it when it loads, too late to set it in a test.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { configureGpuEnv } from './test/setup/gpu-env.js';

configureGpuEnv();

const projectRoot = fileURLToPath(new URL('.', import.meta.url));

/** The files that take minutes, longest first: they start before everything else. */
const LONGEST = ['test/wgpu/wgpu.test.ts', 'test/browser/browser.test.ts'];

/** Vitest's order (by project, then by the last run's durations), with LONGEST moved to the front. */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const i = LONGEST.findIndex((path) => f.moduleId.endsWith(path));
      return i < 0 ? LONGEST.length : i;
    };
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  root: projectRoot,
  test: {
    maxWorkers: Math.max(2, availableParallelism() - 1),
    sequence: { sequencer: LongestFirst },
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
