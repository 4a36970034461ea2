/**
 * f16 arithmetic (`shader-f16`), which SwiftShader lacks: Deno's wgpu on Mesa's lavapipe (Debian's
 * mesa-vulkan-drivers) offers it, so this file runs test/wgpu/f16/runner.ts there on the library
 * bundle. Every case runs with f16 arithmetic on and off, against the float64 reference within the
 * tolerance of docs/semantics.md §10 (f32's with it off; plus two f16 roundings of max|v| with it
 * on), and must differ between the two (else the f16 path did not run). Skips, saying why, where
 * Deno or lavapipe is missing or lavapipe does not offer the feature.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { beforeAll, describe, expect, it } from 'vitest';
import { findDeno, denoGpuEnv } from '../setup/deno';
import { F16_CASES, f16Bound } from './f16/cases';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const LAVAPIPE = ['x86_64', 'aarch64'].map((a) => `/usr/share/vulkan/icd.d/lvp_icd.${a}.json`).find(existsSync);
const deno = findDeno();

interface Result {
  name: string;
  arithmetic: boolean;
  got: (number | null)[];
  want: (number | null)[];
}

async function runOnLavapipe(denoPath: string, icd: string): Promise<{ f16: boolean; results: Result[] }> {
  const libDir = join(projectRoot, '.vite', 'f16-ring', 'lib');
  await build({
    configFile: join(projectRoot, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir: libDir, emptyOutDir: true },
  });
  const env = {
    ...denoGpuEnv({ ...process.env, VK_ICD_FILENAMES: icd }),
    DENO_DIR: join(projectRoot, '.vite', 'deno-dir'),
  };
  const runner = join(projectRoot, 'test', 'wgpu', 'f16', 'runner.ts');
  const args = ['run', '--unstable-webgpu', `--allow-read=${projectRoot}`, '--no-prompt', runner];
  const child = spawn(denoPath, [...args, join(libDir, 'webgpu-attention.js'), JSON.stringify(F16_CASES)], {
    cwd: projectRoot,
    env,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const lines = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const fatal = lines.find((l) => 'fatal' in l);
  if (code !== 0 || fatal)
    throw new Error(`Deno on lavapipe failed (code ${code}): ${fatal?.fatal ?? ''}\n${stderr.slice(-3000)}`);
  const environment = lines.find((l) => 'environment' in l) as { environment: string; f16: boolean };
  console.log(`f16 arithmetic on ${environment.environment}: shader-f16 ${environment.f16}`);
  return { f16: environment.f16, results: lines.filter((l) => 'got' in l) as unknown as Result[] };
}

const skip =
  'reason' in deno
    ? `Deno is missing: ${deno.reason}`
    : !LAVAPIPE
      ? 'lavapipe is missing (apt-get install mesa-vulkan-drivers)'
      : null;

if (skip) {
  it.skip(`f16 arithmetic on lavapipe skipped: ${skip}`, () => {});
} else {
  let run: { f16: boolean; results: Result[] };
  beforeAll(async () => {
    run = await runOnLavapipe((deno as { path: string }).path, LAVAPIPE!);
  }, 300_000);

  describe('f16 arithmetic (wgpu on lavapipe) against the float64 reference', () => {
    for (const c of F16_CASES) {
      it(c.name, (ctx) => {
        if (!run.f16) ctx.skip('lavapipe does not offer shader-f16 here');
        const on = run.results.find((r) => r.name === c.name && r.arithmetic)!;
        const off = run.results.find((r) => r.name === c.name && !r.arithmetic)!;
        for (const r of [on, off]) {
          expect(r.got.length).toBe(r.want.length);
          const bad = r.want.findIndex((w, i) => !(Math.abs(r.got[i]! - w!) <= f16Bound(w!, c.vAmp, r.arithmetic)));
          expect(bad, `f16Arithmetic ${r.arithmetic}: element ${bad}: got ${r.got[bad]}, want ${r.want[bad]}`).toBe(-1);
        }
        // Products rounded to f16 leave a trace: the two paths must not agree bit for bit.
        expect(
          on.got.some((x, i) => x !== off.got[i]),
          'f16 arithmetic changed nothing: did its path run?',
        ).toBe(true);
      });
    }
  });
}
