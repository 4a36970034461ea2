/**
 * The dispatches of an additive call: the projections pq = q·wqᵀ + bias and pk = k·wkᵀ through the
 * GEMM (linear.wgsl) into scratch, the additive kernel (shaders/additive.wgsl), and with
 * returnWeights its weights pass. Takes no buffer: the op gives the scratch and the outputs.
 */
import type { ScoreMask, ValidatedAdditive } from '../../contract/score-functions';
import type { GpuRuntime, KernelDispatch } from '../../gpu/runtime';
import { SHADERS } from '../../shaders';
import type { GpuMask, GpuTensor } from '../../tensor';
import { encodeMatmul, operandOf, plainOutput } from '../linear/encode';
import { WEIGHTS_WORKGROUP_SIZE, type AdditivePlan } from './plan-additive';

/** A checked additive call on the GPU: every float argument is a GpuTensor, the mask either kind. */
export type GpuAdditive = ValidatedAdditive<GpuTensor | GpuMask>;

/** Where an additive call writes: the projections' scratch, the output, and the weights' row statistics. */
export interface AdditiveBuffers {
  /** [B·Lq, A] and [B·Lk, A], f32. */
  pq: GPUBufferBinding;
  pk: GPUBufferBinding;
  /** [B, Lq, Dv]. */
  out: GPUBufferBinding;
  /** With returnWeights: [B·Lq, 2] (max, sum) scratch and the weights [B, Lq, Lk]. */
  weights: { stats: GPUBufferBinding; out: GPUBufferBinding } | null;
}

/** The mask's binding, uniforms and overrides; the dummy buffer without one. */
function maskArguments(runtime: GpuRuntime, mask: ScoreMask<GpuTensor | GpuMask> | null) {
  if (!mask) {
    const uniforms = { m_offset: 0, m_stride_b: 0, m_stride_q: 0, m_stride_k: 0 };
    const overrides = { HAS_MASK: false, MASK_IS_BOOL: false, MASK_F16: false };
    return { resource: { buffer: runtime.dummy } as GPUBufferBinding, uniforms, overrides };
  }
  const { resource, elementOffset } = mask.tensor.binding();
  const { b, i, j } = mask.strides;
  return {
    resource,
    uniforms: { m_offset: elementOffset, m_stride_b: b, m_stride_q: i, m_stride_k: j },
    overrides: { HAS_MASK: true, MASK_IS_BOOL: mask.bool, MASK_F16: mask.tensor.dtype === 'f16' },
  };
}

/** The two projection GEMMs, each into its scratch as a plain [M, A] matrix. */
function encodeProjections(runtime: GpuRuntime, call: GpuAdditive, plan: AdditivePlan, buffers: AdditiveBuffers) {
  const { B, Lq, Lk, Dq, Dk, A } = call.dims;
  const tensor = (t: GpuTensor | GpuMask) => operandOf(t as GpuTensor); // float arguments (checked)
  const q = encodeMatmul(
    runtime,
    {
      x: tensor(call.q),
      xStrideM: Dq,
      M: B * Lq,
      K: Dq,
      weight: tensor(call.wq),
      N: A,
      bias: call.bias ? tensor(call.bias) : undefined,
      out: plainOutput(buffers.pq, B * Lq, A),
    },
    plan.projectQ,
  );
  const k = encodeMatmul(
    runtime,
    {
      x: tensor(call.k),
      xStrideM: Dk,
      M: B * Lk,
      K: Dk,
      weight: tensor(call.wk),
      N: A,
      out: plainOutput(buffers.pk, B * Lk, A),
    },
    plan.projectK,
  );
  return [q, k];
}

/**
 * Every dispatch of an additive call, in order: the projections, the forward, the weights pass.
 * Call inside `runtime.submit`.
 * @example
 * const dispatches = encodeAdditive(runtime, call, planAdditive(call.dims, device.limits, false), buffers);
 */
export function encodeAdditive(
  runtime: GpuRuntime,
  call: GpuAdditive,
  plan: AdditivePlan,
  buffers: AdditiveBuffers,
): KernelDispatch[] {
  const { B, Lq, Lk, A, Dv } = call.dims;
  const mask = maskArguments(runtime, call.mask);
  const va = call.va.binding();
  const v = call.v.binding();
  const flags = {
    IS_CAUSAL: call.causal,
    ...mask.overrides,
    VA_F16: call.va.dtype === 'f16',
  };
  const uniforms = {
    batch: B,
    q_len: Lq,
    kv_len: Lk,
    att_dim: A,
    value_dim: Dv,
    q_blocks: plan.qBlocks,
    att_dim_vec4: plan.attDimVec4,
    tile_kv: plan.tile.tileKv,
    minus_infinity: -Infinity,
    va_offset: va.elementOffset,
    v_offset: v.elementOffset,
    ...mask.uniforms,
  };
  const inputs = { pq: buffers.pq, pk: buffers.pk, va: va.resource, v: v.resource, mask: mask.resource };
  const forward = runtime.pipelines.get(SHADERS.additive, 'additive_forward', {
    BLOCK_Q: plan.tile.blockQ,
    TILE_KV: plan.tile.tileKv,
    ATT_DIM_VEC4: plan.attDimVec4,
    VALUE_DIM_VEC4: plan.valueDimVec4,
    KV_STRIDE: plan.kvStride,
    WORKGROUP_SIZE: plan.workgroupSize,
    ...flags,
    V_F16: call.v.dtype === 'f16',
    WRITE_STATS: plan.weights !== null,
  });
  const stats = buffers.weights?.stats ?? { buffer: runtime.dummyOutput };
  const dispatches: KernelDispatch[] = [
    ...encodeProjections(runtime, call, plan, buffers),
    {
      pipeline: forward,
      uniforms: { ...uniforms, groups_x: plan.workgroups[0] },
      buffers: { ...inputs, out: buffers.out, stats },
      workgroups: plan.workgroups,
    },
  ];
  if (plan.weights && buffers.weights) {
    // The weights pass reads no tile: only the overrides it uses, so one pipeline serves every tiling.
    const pipeline = runtime.pipelines.get(SHADERS.additive, 'additive_weights', {
      WORKGROUP_SIZE: WEIGHTS_WORKGROUP_SIZE,
      ...flags,
    });
    dispatches.push({
      pipeline,
      uniforms: { ...uniforms, groups_x: plan.weights.workgroups[0] },
      buffers: { ...inputs, stats, weights: buffers.weights.out },
      workgroups: plan.weights.workgroups,
    });
  }
  return dispatches;
}
