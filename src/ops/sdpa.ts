/**
 * `attn.sdpa`: the tiled (flash) scaled-dot-product attention. validate → plan → encode.
 */
import { AttentionError, describe } from '../errors';
import { foldWorkgroups, type GpuRuntime } from '../gpu/runtime';
import { SHADERS } from '../shaders';
import { GpuTensor, type GpuMask } from '../tensor';
import type { SdpaOptionsOf } from '../types';
import { checkFits, checkMask, checkTensor, layoutStrides, maskArguments, tensorUniforms, windowArguments, type WindowArguments } from './attention-args';
import { planSdpa, TILE_PREFERENCES, type SdpaPlan, type SdpaTile } from './sdpa-plan';
import { validateLayout, validateSdpaOptions, validateSdpaShapes, type ResolvedSdpaOptions, type SdpaDims } from './sdpa-validate';

/** Options of `attn.sdpa`. */
export interface SdpaOptions extends SdpaOptionsOf<GpuTensor | GpuMask> {
  /** Advanced: force a tiling (one of TILE_PREFERENCES) instead of the plan's choice, for tuning. */
  tile?: SdpaTile;
}

/** What `attn.sdpa` returns with `returnLse: true`. */
export interface SdpaWithLse { output: GpuTensor; lse: GpuTensor }

const LOG2E = Math.LOG2E;

/** Everything encode needs, checked: nothing past this point can throw an AttentionError. */
export interface ValidatedSdpa {
  q: GpuTensor; k: GpuTensor; v: GpuTensor;
  dims: SdpaDims;
  options: ResolvedSdpaOptions;
  mask: ReturnType<typeof checkMask>;
  outputShape: number[];
}

/** Checks every argument of an attention call (shared by the flash and the naive op). */
export function validateAttentionCall(runtime: GpuRuntime, q: unknown, k: unknown, v: unknown, options: SdpaOptionsOf<unknown> | undefined): ValidatedSdpa {
  runtime.assertAlive();
  const qT = checkTensor(runtime, 'q', q);
  const kT = checkTensor(runtime, 'k', k);
  const vT = checkTensor(runtime, 'v', v);
  const layout = validateLayout(options?.layout);
  const dims = validateSdpaShapes(qT.shape, kT.shape, vT.shape, layout);
  const resolved = validateSdpaOptions(options, dims);
  const mask = checkMask(runtime, options?.mask, dims);
  const outputShape = layout === 'bshd' ? [dims.B, dims.Lq, dims.Hq, dims.Dv] : [dims.B, dims.Hq, dims.Lq, dims.Dv];
  const outputElements = dims.B * dims.Hq * dims.Lq * dims.Dv;
  checkFits(runtime.device, 'output', outputElements, outputElements * 4);
  for (const [name, t] of [['q', qT], ['k', kT], ['v', vT]] as const) checkFits(runtime.device, name, t.size, t.size * 4);
  return { q: qT, k: kT, v: vT, dims, options: resolved, mask, outputShape };
}

function checkTile(tile: unknown): SdpaTile | undefined {
  if (tile === undefined) return undefined;
  const known = TILE_PREFERENCES.find((t) => t.blockQ === (tile as SdpaTile)?.blockQ && t.tileKv === (tile as SdpaTile)?.tileKv);
  if (!known) {
    throw new AttentionError('options.tile', JSON.stringify(tile) ?? describe(tile),
      `one of ${TILE_PREFERENCES.map((t) => `{blockQ: ${t.blockQ}, tileKv: ${t.tileKv}}`).join(', ')}`);
  }
  return known;
}

/** Uniforms both attention kernels share: sizes and where q, k, v, out and the mask sit. */
export function sharedUniforms(call: ValidatedSdpa, maskUniforms: Record<string, number>, window: WindowArguments): Record<string, number> {
  const { dims, options } = call;
  const s = (heads: number, length: number, dim: number) => layoutStrides(options.layout, heads, length, dim);
  return {
    batch: dims.B, q_heads: dims.Hq, kv_group: dims.Hq / dims.Hkv, q_len: dims.Lq, kv_len: dims.Lk,
    head_dim: dims.D, value_dim: dims.Dv, causal_offset: options.offset, minus_infinity: -Infinity,
    ...tensorUniforms('q', call.q.binding(), s(dims.Hq, dims.Lq, dims.D)),
    ...tensorUniforms('k', call.k.binding(), s(dims.Hkv, dims.Lk, dims.D)),
    ...tensorUniforms('v', call.v.binding(), s(dims.Hkv, dims.Lk, dims.Dv)),
    ...tensorUniforms('o', { elementOffset: 0 }, s(dims.Hq, dims.Lq, dims.Dv)),
    ...maskUniforms,
    ...window.uniforms,
  };
}

/** The overrides of the flash kernel for a call and its plan. */
function flashOverrides(call: ValidatedSdpa, plan: SdpaPlan, window: WindowArguments): Record<string, number | boolean> {
  return {
    BLOCK_Q: plan.tile.blockQ, TILE_KV: plan.tile.tileKv,
    HEAD_DIM_VEC4: plan.headDimVec4, VALUE_DIM_VEC4: plan.valueDimVec4, KV_STRIDE: plan.kvStride,
    WORKGROUP_SIZE: plan.workgroupSize,
    IS_CAUSAL: call.options.causal, HAS_MASK: call.mask !== null, MASK_IS_BOOL: call.mask?.mask.dtype === 'bool',
    HAS_SOFTCAP: call.options.softcap > 0, WRITE_LSE: call.options.returnLse,
    ...window.overrides,
  };
}

/**
 * Runs the flash kernel. Returns the output, or `{ output, lse }` with `returnLse`.
 * @example
 * const o = sdpa(runtime, q, k, v, { causal: true });
 */
export function sdpa(runtime: GpuRuntime, q: unknown, k: unknown, v: unknown, options?: SdpaOptions): GpuTensor | SdpaWithLse {
  const call = validateAttentionCall(runtime, q, k, v, options);
  const plan = planSdpa(call.dims, runtime.device.limits, checkTile(options?.tile));
  const workgroups = foldWorkgroups(plan.workgroupCount, runtime.device.limits.maxComputeWorkgroupsPerDimension);
  if (workgroups[1] > runtime.device.limits.maxComputeWorkgroupsPerDimension) {
    throw new AttentionError('q', `${plan.workgroupCount} query blocks (B·Hq·⌈Lq/${plan.tile.blockQ}⌉)`, `at most ${runtime.device.limits.maxComputeWorkgroupsPerDimension ** 2}`);
  }
  return encodeSdpa(runtime, call, plan, workgroups);
}

function encodeSdpa(runtime: GpuRuntime, call: ValidatedSdpa, plan: SdpaPlan, workgroups: [number, number, number]): GpuTensor | SdpaWithLse {
  const { dims, options } = call;
  const outBytes = dims.B * dims.Hq * dims.Lq * dims.Dv * 4;
  const lseBytes = dims.B * dims.Hq * dims.Lq * 4;
  const outBuffer = runtime.pool.acquire(outBytes, 'sdpa output');
  const lseBuffer = options.returnLse ? runtime.pool.acquire(lseBytes, 'sdpa lse') : null;
  const mask = maskArguments(runtime, call.mask);
  const window = windowArguments(runtime, options.window, dims.Lk);
  const pipeline = runtime.pipelines.get(SHADERS.sdpa, 'sdpa_forward', flashOverrides(call, plan, window));
  const uniforms = {
    ...sharedUniforms(call, mask.uniforms, window),
    q_blocks: plan.qBlocks, head_dim_vec4: plan.headDimVec4, tile_kv: plan.tile.tileKv, groups_x: workgroups[0],
    score_scale: options.softcap > 0 ? options.scale / options.softcap : options.scale * LOG2E,
    softcap_log2: options.softcap * LOG2E,
  };
  const buffers = {
    q: call.q.binding().resource, k: call.k.binding().resource, v: call.v.binding().resource,
    mask: mask.resource, global_bits: window.resource, out: { buffer: outBuffer, size: outBytes },
    lse: lseBuffer ? { buffer: lseBuffer, size: lseBytes } : { buffer: runtime.dummyOutput },
  };
  const ready = runtime.run(pipeline.label, [{ pipeline, uniforms, buffers, workgroups }]);
  window.release();
  const output = new GpuTensor(runtime, outBuffer, call.outputShape, 0, true);
  output.ready = ready;
  if (!lseBuffer) return output;
  const lse = new GpuTensor(runtime, lseBuffer, [dims.B, dims.Hq, dims.Lq], 0, true);
  lse.ready = ready;
  return { output, lse };
}
