/**
 * `attn.neighborhood2d` and `attn.neighborhood1d`: neighbourhood attention (NATTEN semantics) with
 * the kernel of shaders/local.wgsl. validate → plan → encode; a 1-D call is the 2-D path with Y = 1.
 */
import { AttentionError } from '../errors';
import { foldWorkgroups, type GpuRuntime } from '../gpu/runtime';
import { SHADERS } from '../shaders';
import { GpuTensor } from '../tensor';
import { checkFits, checkTensor } from './attention-args';
import { planNeighborhood, type NeighborhoodPlan } from './neighborhood-plan';
import type { Neighborhood1dOptionsOf, Neighborhood2dOptionsOf } from './neighborhood-types';
import {
  checkNeighborhoodOptions,
  neighborhoodStrides,
  validateNeighborhood,
  type ValidatedNeighborhood,
} from './neighborhood-validate';

/** Options of `attn.neighborhood2d` (rpb: a GpuTensor [Hq, 2ky−1, 2kx−1]). */
export type Neighborhood2dOptions = Neighborhood2dOptionsOf<GpuTensor>;
/** Options of `attn.neighborhood1d` (rpb: a GpuTensor [Hq, 2k−1]). */
export type Neighborhood1dOptions = Neighborhood1dOptionsOf<GpuTensor>;

/** Everything encode needs, checked: nothing past this point throws an AttentionError. */
interface LocalCall extends ValidatedNeighborhood {
  q: GpuTensor;
  k: GpuTensor;
  v: GpuTensor;
  rpb: GpuTensor | null;
}

function validateCall(
  runtime: GpuRuntime,
  rank: 1 | 2,
  q: unknown,
  k: unknown,
  v: unknown,
  options: unknown,
): LocalCall {
  runtime.assertAlive();
  const qT = checkTensor(runtime, 'q', q);
  const kT = checkTensor(runtime, 'k', k);
  const vT = checkTensor(runtime, 'v', v);
  const o = checkNeighborhoodOptions(options);
  const rpb = o.rpb === undefined ? null : checkTensor(runtime, 'options.rpb', o.rpb);
  const validated = validateNeighborhood(rank, { q: qT.shape, k: kT.shape, v: vT.shape, rpb: rpb?.shape }, o);
  const { B, Hq, Y, X, Dv } = validated.dims;
  const outputElements = B * Hq * Y * X * Dv;
  checkFits(runtime.device, 'output', outputElements, outputElements * 4);
  for (const [name, t] of [
    ['q', qT],
    ['k', kT],
    ['v', vT],
  ] as const)
    checkFits(runtime.device, name, t.size, t.size * 4);
  return { ...validated, q: qT, k: kT, v: vT, rpb };
}

/** Uniform fields `<prefix>_offset`, `<prefix>_stride_b/h/y/x` of one tensor. */
function tensorFields(
  prefix: string,
  elementOffset: number,
  strides: [number, number, number, number],
): Record<string, number> {
  return {
    [`${prefix}_offset`]: elementOffset,
    [`${prefix}_stride_b`]: strides[0],
    [`${prefix}_stride_h`]: strides[1],
    [`${prefix}_stride_y`]: strides[2],
    [`${prefix}_stride_x`]: strides[3],
  };
}

function localUniforms(call: LocalCall, plan: NeighborhoodPlan, groupsX: number): Record<string, number> {
  const { dims, options } = call;
  const s = (heads: number, dim: number) => neighborhoodStrides(options.layout, heads, dims.Y, dims.X, dim);
  return {
    batch: dims.B,
    q_heads: dims.Hq,
    kv_group: dims.Hq / dims.Hkv,
    head_dim: dims.D,
    value_dim: dims.Dv,
    qk_chunks: plan.qkChunks,
    v_chunks: plan.vChunks,
    groups_x: groupsX,
    map_y: dims.Y,
    map_x: dims.X,
    dilation_y: options.dilation[0],
    dilation_x: options.dilation[1],
    kernel_y: options.kernel[0],
    kernel_x: options.kernel[1],
    tiles_y: plan.tiles[0],
    tiles_x: plan.tiles[1],
    scale: options.scale,
    ...tensorFields('q', call.q.binding().elementOffset, s(dims.Hq, dims.D)),
    ...tensorFields('k', call.k.binding().elementOffset, s(dims.Hkv, dims.D)),
    ...tensorFields('v', call.v.binding().elementOffset, s(dims.Hkv, dims.Dv)),
    ...tensorFields('o', 0, s(dims.Hq, dims.Dv)),
    rpb_offset: call.rpb?.binding().elementOffset ?? 0,
  };
}

function localOverrides(call: LocalCall, plan: NeighborhoodPlan): Record<string, number | boolean> {
  const { kernel, causal } = call.options;
  return {
    TILE_Y: plan.tile.y,
    TILE_X: plan.tile.x,
    KERNEL_Y: kernel[0],
    KERNEL_X: kernel[1],
    CHUNK_VEC4: plan.chunkVec4,
    WORKGROUP_SIZE: plan.workgroupSize,
    HAS_RPB: call.rpb !== null,
    IS_CAUSAL_Y: causal[0],
    IS_CAUSAL_X: causal[1],
  };
}

function run(runtime: GpuRuntime, rank: 1 | 2, q: unknown, k: unknown, v: unknown, options: unknown): GpuTensor {
  const call = validateCall(runtime, rank, q, k, v, options);
  const plan = planNeighborhood(call.dims, call.options.kernel, call.options.dilation, runtime.device.limits);
  const maxPerDimension = runtime.device.limits.maxComputeWorkgroupsPerDimension;
  const workgroups = foldWorkgroups(plan.workgroupCount, maxPerDimension);
  if (workgroups[1] > maxPerDimension) {
    throw new AttentionError(
      'q',
      `${plan.workgroupCount} query tiles (B·Hq·dy·dx·tiles)`,
      `at most ${maxPerDimension ** 2}`,
    );
  }
  const { B, Hq, Y, X, Dv } = call.dims;
  const outBytes = B * Hq * Y * X * Dv * 4;
  const outBuffer = runtime.pool.acquire(outBytes, `neighborhood${rank}d output`);
  const pipeline = runtime.pipelines.get(SHADERS.local, 'local_neighborhood', localOverrides(call, plan));
  const buffers = {
    q: call.q.binding().resource,
    k: call.k.binding().resource,
    v: call.v.binding().resource,
    rpb: call.rpb ? call.rpb.binding().resource : { buffer: runtime.dummy },
    out: { buffer: outBuffer, size: outBytes },
  };
  const ready = runtime.run(pipeline.label, [
    { pipeline, uniforms: localUniforms(call, plan, workgroups[0]), buffers, workgroups },
  ]);
  const output = new GpuTensor(runtime, outBuffer, call.outputShape, 0, true);
  output.ready = ready;
  return output;
}

/**
 * 2-D neighbourhood attention: each query attends to the kernel-sized (dilated, optionally causal)
 * window of keys around it. q [B, Hq, Y, X, D], k [B, Hkv, Y, X, D], v [B, Hkv, Y, X, Dv]
 * ('bhyxd'; 'byxhd' is channels-last). Returns [B, Hq, Y, X, Dv] in the same layout.
 * @example
 * const o = neighborhood2d(runtime, q, k, v, { kernel: 7, dilation: 2 });
 */
export function neighborhood2d(
  runtime: GpuRuntime,
  q: unknown,
  k: unknown,
  v: unknown,
  options: Neighborhood2dOptions,
): GpuTensor {
  return run(runtime, 2, q, k, v, options);
}

/**
 * 1-D neighbourhood attention over sequences: q [B, Hq, L, D] ('bhsd') or [B, L, Hq, D] ('bshd').
 * Runs the 2-D kernel with Y = 1.
 * @example
 * const o = neighborhood1d(runtime, q, k, v, { kernel: 5, causal: true });
 */
export function neighborhood1d(
  runtime: GpuRuntime,
  q: unknown,
  k: unknown,
  v: unknown,
  options: Neighborhood1dOptions,
): GpuTensor {
  return run(runtime, 1, q, k, v, options);
}
