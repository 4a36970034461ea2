/**
 * The wgpu ring's Deno side. Vite bundles this file (with the case tables, the reference and the
 * shader sources) into one ESM file; test/wgpu/wgpu.test.ts runs it as
 *   deno run --unstable-webgpu --allow-read=<root> runner.js <library bundle path>
 * It imports the library bundle that `vite build` made, calls `createAttention()` on Deno's
 * `navigator.gpu` (wgpu), and prints one record per line (test/wgpu/protocol.ts): the adapter and
 * device, every shader entry point compiled through naga, the Tint-only kernel, the shared case
 * tables against the float64 reference, the same cases on a default-limits device, the bad-input
 * matrix and device loss.
 */
import {
  linearRunnables,
  localRunnables,
  mhaRunnables,
  sdpaRunnables,
  type Attention,
  type Lib,
  type Runnable,
} from '../../helpers/case-runners';
import { WANTED_FEATURES } from '../../../src/gpu/device';
import { SHADERS } from '../../../src/shaders';
import { DEFAULT_LIMIT_CASES, encodeRecord, NOT_ON_WGPU, type Environment, type RingRecord } from '../protocol';
import { TINT_ONLY_ID, TINT_ONLY_KERNEL } from '../tint-only';
import { badInput, compileShader, deviceLoss } from './checks';
import { pagedRunnables } from '../../helpers/paged-runners';
import { visionRunnables } from '../../helpers/vision-runners';
import { scoreRunnables } from '../../helpers/score-function-runners';
import { longInputRunnables } from '../../helpers/long-runners';
import { graphRunnables } from '../../helpers/graph-runners';

interface DenoApi {
  args: string[];
  version: { deno: string; v8: string };
  exit(code: number): never;
}
const deno = (globalThis as unknown as { Deno: DenoApi }).Deno;

const emit = (record: RingRecord) => console.log(encodeRecord(record));

function limitsOf(limits: GPUSupportedLimits): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key in limits) {
    const value = (limits as unknown as Record<string, unknown>)[key];
    if (typeof value === 'number') out[key] = value;
  }
  return out;
}

function environment(adapter: GPUAdapter, attn: Attention): Environment {
  const info = adapter.info;
  const language = (navigator.gpu as GPU & { wgslLanguageFeatures?: Set<string> }).wgslLanguageFeatures;
  return {
    deno: `${deno.version.deno} (V8 ${deno.version.v8})`,
    adapter: {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
    },
    adapterFeatures: [...adapter.features].sort(),
    adapterLimits: limitsOf(adapter.limits),
    deviceFeatures: [...attn.device.features].sort(),
    deviceLimits: limitsOf(attn.device.limits),
    wantedFeatures: [...WANTED_FEATURES],
    wgslLanguageFeatures: language ? [...language].sort() : [],
  };
}

async function runCases(lib: Lib, libPath: string, attn: Attention, cases: Runnable[], label = '') {
  for (const c of cases) {
    emit({ kind: 'running', name: `${label}${c.name}` });
    const t0 = performance.now();
    const outcome = await c.run(lib, attn);
    emit({ kind: 'case', result: { ...outcome, name: `${label}${c.name}`, lib: libPath, ms: performance.now() - t0 } });
  }
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const libPath = deno.args[0];
  if (!libPath) throw new Error('usage: runner.js <path of the library bundle>');
  const lib = (await import(/* @vite-ignore */ new URL(`file://${libPath}`).href)) as Lib;
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('navigator.gpu.requestAdapter() returned null: wgpu found no adapter');
  // As a user would: no argument, so the library takes navigator.gpu itself.
  const attn = await lib.createAttention();
  attn.device.addEventListener('uncapturederror', (ev) =>
    emit({ kind: 'uncaptured', message: (ev as GPUUncapturedErrorEvent).error.message }),
  );
  emit({ kind: 'environment', environment: environment(adapter, attn) });

  for (const shader of Object.values(SHADERS)) {
    emit({ kind: 'running', name: `compile ${shader.id}` });
    for (const check of await compileShader(attn.device, shader.id, shader.source)) emit({ kind: 'shader', check });
  }
  for (const check of await compileShader(attn.device, TINT_ONLY_ID, TINT_ONLY_KERNEL))
    emit({ kind: 'tint-only', check });

  const tables = [
    ...sdpaRunnables(),
    ...localRunnables(),
    ...mhaRunnables(),
    ...linearRunnables(),
    ...pagedRunnables(),
    ...visionRunnables(),
    ...scoreRunnables(),
    ...longInputRunnables(),
    ...graphRunnables(),
  ];
  await runCases(
    lib,
    libPath,
    attn,
    tables.filter((c) => !(c.name in NOT_ON_WGPU)),
  );

  const defaults = await adapter.requestDevice();
  const small = await lib.createAttention({ device: defaults });
  const picked = DEFAULT_LIMIT_CASES.map((name) => tables.find((c) => c.name === name));
  await runCases(
    lib,
    libPath,
    small,
    picked.filter((c): c is Runnable => !!c),
    'default limits: ',
  );
  small.destroy();
  defaults.destroy();

  emit({ kind: 'running', name: 'bad input' });
  const other = await lib.createAttention();
  for (const check of badInput(lib, attn, other)) emit({ kind: 'rejection', check });
  other.destroy();

  emit({ kind: 'running', name: 'device loss' });
  for (const check of await deviceLoss(lib, adapter)) emit({ kind: 'lifecycle', check });
  attn.destroy();
  emit({ kind: 'done', ms: performance.now() - t0 });
}

try {
  await main();
} catch (e) {
  emit({ kind: 'fatal', message: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e) });
  deno.exit(1);
}
// Nothing may keep the process alive once the run is over.
deno.exit(0);
