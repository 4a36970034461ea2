/**
 * wgpu ring: the second WebGPU engine. Deno (from the npm registry: the `deno` dev dependency)
 * runs the library bundle `vite build` makes on wgpu, the engine behind Firefox, with naga as the
 * WGSL compiler, on the same Vulkan driver as the Node ring (SwiftShader where there is no GPU).
 * One Deno process runs everything (test/wgpu/runner/main.ts); each record becomes a test here:
 * the adapter and the device the library made, every shader entry point through naga, a kernel only
 * Tint accepts (it must fail on wgpu and pass on Dawn), the shared case tables against the float64
 * reference, cases on a default-limits device, the bad-input matrix and device loss.
 * Run: `npx vitest run --project wgpu`. Skips, saying why, where Deno is missing: npm has none for the
 * platform, or it is not installed (with CI=true, on a platform npm has Deno for, that fails instead).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { SHADERS } from '../../src/shaders';
import { BAD_INPUT } from '../bad-input';
import { linearRunnables, localRunnables, mhaRunnables, sdpaRunnables } from '../helpers/case-runners';
import { pagedRunnables } from '../helpers/paged-runners';
import { visionRunnables } from '../helpers/vision-runners';
import { scoreRunnables } from '../helpers/score-function-runners';
import { longInputRunnables } from '../helpers/long-runners';
import { graphRunnables } from '../helpers/graph-runners';
import { nodeGpu } from '../helpers/node-gpu';
import { findDeno } from '../setup/deno';
import { buildForDeno } from './build';
import { runDeno, type DenoRun } from './deno-run';
import { computeEntryPoints, DEFAULT_LIMIT_CASES, LIFECYCLE_CHECKS, NOT_ON_WGPU, type RingRecord } from './protocol';
import { compileShader } from './runner/checks';
import { TINT_ONLY_ID, TINT_ONLY_KERNEL } from './tint-only';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const deno = findDeno();
/** Deno gets this long for everything: a ceiling for a busy machine; on a quiet 2-core one the run takes a few minutes. */
const BUDGET_MS = 900_000;

let run: DenoRun;
let runnerImports: string[] = [];

function summary(r: DenoRun): string {
  const cases = [...r.cases.values()];
  const slowest = [...cases].sort((a, b) => b.ms - a.ms).slice(0, 5);
  const total = cases.reduce((s, c) => s + c.ms, 0);
  return [
    `wgpu ring: ${r.records.length} records in ${(r.ms / 1000).toFixed(1)} s (cases ${(total / 1000).toFixed(1)} s)`,
    `slowest: ${slowest.map((c) => `${c.name} ${(c.ms / 1000).toFixed(1)} s`).join(' · ')}`,
  ].join('\n');
}

if ('reason' in deno && deno.installable && process.env.CI) {
  // In CI a platform npm has Deno for must run the ring: a broken install must not turn it off quietly.
  it(`wgpu ring cannot run: ${deno.reason}`, () => {
    throw new Error(deno.reason);
  });
} else if ('reason' in deno) {
  it.skip(`wgpu ring skipped: ${deno.reason}`, () => {});
} else {
  beforeAll(async () => {
    const built = await buildForDeno(projectRoot);
    runnerImports = built.runnerImports;
    run = await runDeno({
      deno: deno.path,
      runner: built.runner,
      lib: built.lib,
      cwd: projectRoot,
      budgetMs: BUDGET_MS,
    });
    await writeFile(join(projectRoot, '.vite', 'wgpu-ring', 'records.json'), JSON.stringify(run.records, null, 1));
    console.log(summary(run));
  });

  /** The check of `kind` named `name`, which must exist and pass. */
  const expectCheck = (kind: RingRecord['kind'], name: string) => {
    const check = run.checks.get(kind)?.get(name);
    expect(check, run.failure ?? `Deno reported no ${kind} check '${name}'`).toBeDefined();
    expect(check!.ok, check!.message).toBe(true);
  };

  it('Deno runs the whole ring to its end: no crash, no fatal error, within budget, no uncaptured error', () => {
    expect(run.failure).toBeUndefined();
    expect(run.uncaptured, 'uncaptured WebGPU errors').toEqual([]);
    expect(runnerImports, 'the runner bundle imports nothing: Deno has no Vite').toEqual([]);
  });

  describe('adapter and device', () => {
    it('wgpu gets a Vulkan adapter on the Node ring’s driver (SwiftShader where there is no GPU)', () => {
      const env = run.environment;
      expect(env, run.failure).toBeDefined();
      const a = env!.adapter;
      const limits = [
        'maxComputeWorkgroupStorageSize',
        'maxComputeInvocationsPerWorkgroup',
        'maxStorageBufferBindingSize',
      ];
      console.log(
        `Deno ${env!.deno}; adapter: ${a.vendor} ${a.architecture} ${a.device} ${a.description}\n` +
          `adapter features: ${env!.adapterFeatures.join(', ')}\n` +
          `WGSL language features: ${env!.wgslLanguageFeatures.join(', ') || 'none'}\n` +
          limits.map((k) => `${k}=${env!.adapterLimits[k]}`).join(' '),
      );
      if (process.env.VK_ICD_FILENAMES?.includes('swiftshader')) expect(a.description).toMatch(/SwiftShader/);
    });

    it('createAttention() on navigator.gpu requests exactly the optional features the adapter offers', () => {
      const env = run.environment!;
      expect(env, run.failure).toBeDefined();
      const offered = env.wantedFeatures.filter((f) => env.adapterFeatures.includes(f));
      expect(env.deviceFeatures.filter((f) => env.wantedFeatures.includes(f)).sort()).toEqual(offered.sort());
      expect(
        env.deviceFeatures.filter((f) => !env.adapterFeatures.includes(f)),
        'features the adapter lacks',
      ).toEqual([]);
      const lacking = env.wantedFeatures.filter((f) => !offered.includes(f));
      console.log(
        `wanted features the wgpu adapter lacks (the table ran without them): ${lacking.join(', ') || 'none'}`,
      );
    });

    it('the device has the adapter’s limits, not WebGPU’s defaults', () => {
      const env = run.environment!;
      expect(env, run.failure).toBeDefined();
      const differing = Object.keys(env.adapterLimits).filter((k) => env.deviceLimits[k] !== env.adapterLimits[k]);
      expect(
        differing.map((k) => `${k}: device ${env.deviceLimits[k]}, adapter ${env.adapterLimits[k]}`),
        'limits below the adapter’s',
      ).toEqual([]);
    });
  });

  describe('every shader entry point compiles through naga (default overrides)', () => {
    for (const shader of Object.values(SHADERS))
      for (const entry of computeEntryPoints(shader.source))
        it(`${shader.id} ${entry}`, () => expectCheck('shader', `${shader.id} ${entry}`));
  });

  describe('a kernel only Tint accepts fails the compile check (test/wgpu/tint-only.ts)', () => {
    const [entry] = computeEntryPoints(TINT_ONLY_KERNEL);
    it('wgpu (naga) rejects it', () => {
      const check = run.checks.get('tint-only')?.get(`${TINT_ONLY_ID} ${entry}`);
      expect(check, run.failure ?? 'Deno reported no result for it').toBeDefined();
      expect(check!.ok, 'naga accepted the Tint-only kernel: the check can no longer fail').toBe(false);
      expect(check!.message).toMatch(/pointer|ptr/i);
    });
    it('Dawn (Tint) accepts it, through the same check', async () => {
      const adapter = await (await nodeGpu()).requestAdapter();
      const device = await adapter!.requestDevice();
      try {
        const [check] = await compileShader(device, TINT_ONLY_ID, TINT_ONLY_KERNEL);
        expect(check.ok, check.message).toBe(true);
      } finally {
        device.destroy();
      }
    });
  });

  describe('case tables on wgpu vs the float64 reference (built bundle, createAttention() on navigator.gpu)', () => {
    for (const { name } of [
      ...sdpaRunnables(),
      ...localRunnables(),
      ...mhaRunnables(),
      ...linearRunnables(),
      ...pagedRunnables(),
      ...visionRunnables(),
      ...scoreRunnables(),
      ...longInputRunnables(),
      ...graphRunnables(),
    ]) {
      if (name in NOT_ON_WGPU) {
        it.skip(`${name} — not on wgpu: ${NOT_ON_WGPU[name]}`, () => {});
        continue;
      }
      it(name, () => {
        const r = run.cases.get(name);
        expect(r, run.failure ?? 'Deno reported no result for this case').toBeDefined();
        expect(r!.ok, r!.message).toBe(true);
      });
    }
  });

  describe('on a device with WebGPU’s default limits and no optional feature', () => {
    for (const name of DEFAULT_LIMIT_CASES) {
      it(name, () => {
        const r = run.cases.get(`default limits: ${name}`);
        expect(r, run.failure ?? 'Deno reported no result for this case').toBeDefined();
        expect(r!.ok, r!.message).toBe(true);
      });
    }
  });

  describe('bad input (test/bad-input.ts)', () => {
    for (const c of BAD_INPUT) {
      const name = `${c.group} rejects bad input: ${c.name}`;
      it(name, () => expectCheck('rejection', name));
    }
  });

  describe('device loss', () => {
    for (const name of LIFECYCLE_CHECKS) it(name, () => expectCheck('lifecycle', name));
  });
}
