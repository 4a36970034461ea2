/**
 * `attn.sdpa`: the tiled (flash) scaled-dot-product attention. validate → plan → encode.
 */
import { AttentionError, describe } from '../errors';
import { foldWorkgroups, type GpuRuntime, type KernelDispatch } from '../gpu/runtime';
import { SHADERS } from '../shaders';
import { GpuTensor, type GpuMask } from '../tensor';
import type { SdpaOptionsOf } from '../types';
import {
  checkFits,
  checkMask,
  checkTensor,
  keyPaddingArguments,
  layoutStrides,
  maskArguments,
  tensorView,
  viewUniforms,
  windowArguments,
  type AttentionView,
} from './attention-args';
import { planSdpa, TILE_PREFERENCES, type SdpaPlan, type SdpaTile } from './sdpa-plan';
import {
  validateLayout,
  validateSdpaOptions,
  validateSdpaShapes,
  type ResolvedSdpaOptions,
  type SdpaDims,
} from './sdpa-validate';

/** Options of `attn.sdpa`. */
export interface SdpaOptions extends SdpaOptionsOf<GpuTensor | GpuMask> {
  /** Advanced: force a tiling (one of TILE_PREFERENCES) instead of the plan's choice, for tuning. */
  tile?: SdpaTile;
}

/** What `attn.sdpa` returns with `returnLse: true`. */
export interface SdpaWithLse {
  output: GpuTensor;
  lse: GpuTensor;
}

const LOG2E = Math.LOG2E;

/** Everything encode needs, checked: nothing past this point can throw an AttentionError. */
export interface ValidatedSdpa {
  q: GpuTensor;
  k: GpuTensor;
  v: GpuTensor;
  dims: SdpaDims;
  options: ResolvedSdpaOptions;
  mask: ReturnType<typeof checkMask>;
  outputShape: number[];
}

/** Checks every argument of an attention call (shared by the flash and the naive op). */
export function validateAttentionCall(
  runtime: GpuRuntime,
  q: unknown,
  k: unknown,
  v: unknown,
  options: SdpaOptionsOf<unknown> | undefined,
): ValidatedSdpa {
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
  for (const [name, t] of [
    ['q', qT],
    ['k', kT],
    ['v', vT],
  ] as const)
    checkFits(runtime.device, name, t.size, t.size * 4);
  return { q: qT, k: kT, v: vT, dims, options: resolved, mask, outputShape };
}

function checkTile(tile: unknown): SdpaTile | undefined {
  if (tile === undefined) return undefined;
  const known = TILE_PREFERENCES.find(
    (t) => t.blockQ === (tile as SdpaTile)?.blockQ && t.tileKv === (tile as SdpaTile)?.tileKv,
  );
  if (!known) {
    throw new AttentionError(
      'options.tile',
      JSON.stringify(tile) ?? describe(tile),
      `one of ${TILE_PREFERENCES.map((t) => `{blockQ: ${t.blockQ}, tileKv: ${t.tileKv}}`).join(', ')}`,
    );
  }
  return known;
}

/** A checked mask argument (what checkMask returns). */
export type CheckedMask = NonNullable<ReturnType<typeof checkMask>>;

/**
 * An attention call on views of buffers (the internal entry): a layer's projections write q, k
 * and v in their own layout, and the output goes where the next GEMM reads it. Nothing here is
 * checked again: the caller validated sizes, and every view must cover what the strides address.
 */
export interface AttentionOperands {
  dims: SdpaDims;
  options: ResolvedSdpaOptions;
  q: AttentionView;
  k: AttentionView;
  v: AttentionView;
  /** Where output (b, h, i, c) goes, for [B, Hq, Lq, Dv]. */
  out: AttentionView;
  mask: CheckedMask | null;
  /** [B, Lk] booleans, 1 = padding (a layer's key-padding mask). */
  keyPadding: GpuMask | null;
}

/** The operands of a checked public call: q, k, v where they lie, the output in `out` (same layout). */
export function operandsOf(call: ValidatedSdpa, out: GPUBufferBinding): AttentionOperands {
  const { dims, options } = call;
  const s = (heads: number, length: number, dim: number) => layoutStrides(options.layout, heads, length, dim);
  return {
    dims,
    options,
    mask: call.mask,
    keyPadding: null,
    q: tensorView(call.q, s(dims.Hq, dims.Lq, dims.D)),
    k: tensorView(call.k, s(dims.Hkv, dims.Lk, dims.D)),
    v: tensorView(call.v, s(dims.Hkv, dims.Lk, dims.Dv)),
    out: { resource: out, elementOffset: 0, strides: s(dims.Hq, dims.Lq, dims.Dv) },
  };
}

/** Inputs both attention kernels bind (q, k, v, mask, window, key padding) with their uniforms and overrides. */
export interface AttentionInputs {
  buffers: Record<string, GPUBufferBinding>;
  /** Sizes, views and optional inputs: every member the two kernels' params share. */
  uniforms: Record<string, number>;
  overrides: Record<string, boolean>;
  /** Returns the global-token buffer (if any) to the pool; call once the work is submitted. */
  release(): void;
}

/** Bindings, shared uniforms and overrides of an attention call. */
export function attentionInputs(runtime: GpuRuntime, ops: AttentionOperands): AttentionInputs {
  const { dims, options } = ops;
  const mask = maskArguments(runtime, ops.mask);
  const window = windowArguments(runtime, options.window, dims.Lk);
  const padding = keyPaddingArguments(runtime, ops.keyPadding, dims.Lk);
  const uniforms = {
    batch: dims.B,
    q_heads: dims.Hq,
    kv_group: dims.Hq / dims.Hkv,
    q_len: dims.Lq,
    kv_len: dims.Lk,
    head_dim: dims.D,
    value_dim: dims.Dv,
    causal_offset: options.offset,
    minus_infinity: -Infinity,
    ...viewUniforms('q', ops.q),
    ...viewUniforms('k', ops.k),
    ...viewUniforms('v', ops.v),
    ...viewUniforms('o', ops.out),
    ...mask.uniforms,
    ...window.uniforms,
    ...padding.uniforms,
  };
  return {
    buffers: {
      q: ops.q.resource,
      k: ops.k.resource,
      v: ops.v.resource,
      mask: mask.resource,
      global_bits: window.resource,
      key_padding: padding.resource,
    },
    uniforms,
    overrides: {
      IS_CAUSAL: options.causal,
      HAS_MASK: ops.mask !== null,
      MASK_IS_BOOL: ops.mask?.mask.dtype === 'bool',
      HAS_SOFTCAP: options.softcap > 0,
      WRITE_LSE: options.returnLse,
      ...window.overrides,
      ...padding.overrides,
    },
    release: window.release,
  };
}

/** A flash tiling and its (folded) workgroup grid. */
export interface FlashPlan {
  plan: SdpaPlan;
  workgroups: [number, number, number];
}

/**
 * Plans the flash kernel for `dims`; throws an AttentionError on `argument` when the grid cannot
 * be dispatched (or no tiling fits the head dims).
 * @example
 * const flash = planFlash(runtime, dims, undefined, 'x');
 */
export function planFlash(runtime: GpuRuntime, dims: SdpaDims, tile?: SdpaTile, argument = 'q'): FlashPlan {
  const plan = planSdpa(dims, runtime.device.limits, tile);
  const max = runtime.device.limits.maxComputeWorkgroupsPerDimension;
  const workgroups = foldWorkgroups(plan.workgroupCount, max);
  if (workgroups[1] > max) {
    throw new AttentionError(
      argument,
      `${plan.workgroupCount} query blocks (B·Hq·⌈Lq/${plan.tile.blockQ}⌉)`,
      `at most ${max ** 2}`,
    );
  }
  return { plan, workgroups };
}

/**
 * Runs the flash kernel. Returns the output, or `{ output, lse }` with `returnLse`.
 * @example
 * const o = sdpa(runtime, q, k, v, { causal: true });
 */
export function sdpa(
  runtime: GpuRuntime,
  q: unknown,
  k: unknown,
  v: unknown,
  options?: SdpaOptions,
): GpuTensor | SdpaWithLse {
  const call = validateAttentionCall(runtime, q, k, v, options);
  const flash = planFlash(runtime, call.dims, checkTile(options?.tile));
  const { dims } = call;
  const outBytes = dims.B * dims.Hq * dims.Lq * dims.Dv * 4;
  const lseBytes = dims.B * dims.Hq * dims.Lq * 4;
  const outBuffer = runtime.pool.acquire(outBytes, 'sdpa output');
  const lseBuffer = call.options.returnLse ? runtime.pool.acquire(lseBytes, 'sdpa lse') : null;
  const ops = operandsOf(call, { buffer: outBuffer, size: outBytes });
  const encoded = encodeFlash(runtime, ops, flash, lseBuffer ? { buffer: lseBuffer, size: lseBytes } : null);
  const ready = runtime.run(encoded.dispatch.pipeline.label, [encoded.dispatch]);
  encoded.release();
  const output = new GpuTensor(runtime, outBuffer, call.outputShape, 0, true);
  output.ready = ready;
  if (!lseBuffer) return output;
  const lse = new GpuTensor(runtime, lseBuffer, [dims.B, dims.Hq, dims.Lq], 0, true);
  lse.ready = ready;
  return { output, lse };
}

/**
 * The flash kernel's dispatch for an attention call on views (lse [B, Hq, Lq] when
 * options.returnLse). The caller submits it with `runtime.run` and then calls release().
 * @example
 * const { dispatch, release } = encodeFlash(runtime, ops, planFlash(runtime, ops.dims), null);
 * runtime.run('layer', [projection, dispatch, outProjection]); release();
 */
export function encodeFlash(
  runtime: GpuRuntime,
  ops: AttentionOperands,
  flash: FlashPlan,
  lse: GPUBufferBinding | null,
): { dispatch: KernelDispatch; release(): void } {
  const { plan, workgroups } = flash;
  const { options } = ops;
  const inputs = attentionInputs(runtime, ops);
  const pipeline = runtime.pipelines.get(SHADERS.sdpa, 'sdpa_forward', {
    BLOCK_Q: plan.tile.blockQ,
    TILE_KV: plan.tile.tileKv,
    HEAD_DIM_VEC4: plan.headDimVec4,
    VALUE_DIM_VEC4: plan.valueDimVec4,
    KV_STRIDE: plan.kvStride,
    WORKGROUP_SIZE: plan.workgroupSize,
    ...inputs.overrides,
  });
  const uniforms = {
    ...inputs.uniforms,
    q_blocks: plan.qBlocks,
    head_dim_vec4: plan.headDimVec4,
    tile_kv: plan.tile.tileKv,
    groups_x: workgroups[0],
    score_scale: options.softcap > 0 ? options.scale / options.softcap : options.scale * LOG2E,
    softcap_log2: options.softcap * LOG2E,
  };
  const buffers = { ...inputs.buffers, out: ops.out.resource, lse: lse ?? { buffer: runtime.dummyOutput } };
  return { dispatch: { pipeline, uniforms, buffers, workgroups }, release: inputs.release };
}
