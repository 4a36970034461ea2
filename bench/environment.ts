/** The top of the bench report: machine, adapter, device features and limits, and the flash tile plan. */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AttentionContext } from '../src/index';
import { planSdpa } from '../src/ops/sdpa/plan';

/**
 * Read from node_modules directly (some packages' `exports` do not expose package.json): the
 * nearest node_modules above this file, which is the repository's, or dist-bench's in the pack.
 */
function packageVersion(name: string): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      return (JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string })
        .version;
    } catch {
      if (dirname(dir) === dir) return 'not installed';
    }
  }
}

/** The adapter's info: the device's own where the implementation has it, else a fresh adapter's. */
async function adapterInfo(attn: AttentionContext, gpu: GPU): Promise<Record<string, unknown>> {
  const fromDevice = (attn.device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  const info = fromDevice ?? (await gpu.requestAdapter())?.info;
  const out: Record<string, unknown> = {};
  for (const key of [
    'vendor',
    'architecture',
    'device',
    'description',
    'subgroupMinSize',
    'subgroupMaxSize',
    'isFallbackAdapter',
  ]) {
    const value = (info as unknown as Record<string, unknown> | undefined)?.[key];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

/** Every limit of the device, name=value (Dawn's limits are enumerable getters). */
function allLimits(limits: GPUSupportedLimits): string {
  const entries: string[] = [];
  for (const name in limits) {
    const value = (limits as unknown as Record<string, unknown>)[name];
    if (typeof value === 'number') entries.push(`${name}=${value}`);
  }
  return entries.join(', ');
}

/**
 * Lines describing where the numbers come from (adapter, features, limits), and the adapter's
 * info (bench/peak.ts looks the device's peak up by it).
 */
export async function describeEnvironment(
  attn: AttentionContext,
  gpu: GPU,
): Promise<{ lines: string[]; info: Record<string, unknown> }> {
  const limits = attn.device.limits;
  const info = await adapterInfo(attn, gpu);
  const lines = [
    '# webgpu-attention bench',
    '',
    `Machine: ${cpus()[0]?.model ?? '?'} × ${cpus().length} cores; Node ${process.version}; webgpu (Dawn) ${packageVersion('webgpu')}; onnxruntime-web ${packageVersion('onnxruntime-web')}`,
    `Adapter: ${Object.entries(info)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(', ')}`,
    `VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? '(unset)'}`,
    `Device features: ${[...attn.device.features].sort().join(', ')}`,
    `Limits: workgroup storage ${limits.maxComputeWorkgroupStorageSize} B, invocations ${limits.maxComputeInvocationsPerWorkgroup}, ` +
      `storage binding ${limits.maxStorageBufferBindingSize} B, buffer ${limits.maxBufferSize} B`,
    `All limits: ${allLimits(limits)}`,
  ];
  return { lines, info };
}

/** The flash kernel's tile plan per benchmarked length (src/ops/sdpa-plan.ts). */
export function planLines(device: GPUDevice, lengths: readonly number[], heads: number, headDim: number): string[] {
  return lengths.map((L) => {
    const p = planSdpa({ B: 1, Hq: heads, Hkv: heads, Lq: L, Lk: L, D: headDim, Dv: headDim }, device.limits);
    return (
      `Flash plan L=${L}: blockQ=${p.tile.blockQ} tileKv=${p.tile.tileKv}, workgroup ${p.workgroupSize} invocations, ` +
      `${p.workgroupBytes} B workgroup memory, ${p.workgroupCount} workgroups (headDimVec4=${p.headDimVec4}, kvStride=${p.kvStride})`
    );
  });
}
