/**
 * The dispatches of a multiplicative call: the GEMM pk = k·Wᵀ (row j is W·kⱼ, so qᵢᵀ·W·kⱼ = qᵢ·pkⱼ:
 * the weight is used as given, no transpose), then the sdpa family's flash kernel — or its naive
 * passes, which write the weights — on views of q, pk, v and the output as [B, 1, L, D]. Takes no
 * buffer but what the sdpa encoders take from the scope (a key split's partials).
 */
import type { ValidatedMultiplicative } from '../../contract/score-functions';
import type { GpuRuntime, KernelDispatch } from '../../gpu/runtime';
import type { GpuMask, GpuTensor } from '../../tensor';
import { encodeMatmul, operandOf, plainOutput } from '../linear/encode';
import { encodeFlash } from '../sdpa/encode';
import { encodeNaive } from '../sdpa/encode-naive';
import { layoutStrides, tensorView, type AttentionOperands } from '../sdpa/operands';
import type { MultiplicativePlan } from './plan-multiplicative';

/** A checked multiplicative call on the GPU: every float argument is a GpuTensor, the mask either kind. */
export type GpuMultiplicative = ValidatedMultiplicative<GpuTensor | GpuMask>;

/** Where a multiplicative call writes: the projected keys (scratch), the output, and the weights. */
export interface MultiplicativeBuffers {
  /** [B·Lk, Dq], f32. */
  pk: GPUBufferBinding;
  /** [B, Lq, Dv]. */
  out: GPUBufferBinding;
  /** [B, Lq, Lk] (returnWeights). */
  weights: GPUBufferBinding | null;
}

/** The call as sdpa operands: one head, q and v where they lie, keys from pk, upper-left causal. */
export function multiplicativeOperands(
  call: GpuMultiplicative,
  plan: MultiplicativePlan,
  buffers: MultiplicativeBuffers,
): AttentionOperands {
  const { Lq, Lk, D, Dv } = plan.dims;
  const strides = (length: number, dim: number) => layoutStrides('bhsd', 1, length, dim);
  return {
    dims: plan.dims,
    options: plan.options,
    q: tensorView(call.q as GpuTensor, strides(Lq, D)),
    k: { resource: buffers.pk, elementOffset: 0, strides: strides(Lk, D) },
    v: tensorView(call.v as GpuTensor, strides(Lk, Dv)),
    out: { resource: buffers.out, elementOffset: 0, strides: strides(Lq, Dv) },
    mask: call.mask && { mask: call.mask.tensor, strides: call.mask.strides },
    keyPadding: null,
  };
}

/**
 * Every dispatch of a multiplicative call, in order. Call inside `runtime.submit`.
 * @example
 * const dispatches = encodeMultiplicative(runtime, call, planMultiplicative(call.dims, call, device.limits), buffers);
 */
export function encodeMultiplicative(
  runtime: GpuRuntime,
  call: GpuMultiplicative,
  plan: MultiplicativePlan,
  buffers: MultiplicativeBuffers,
): KernelDispatch[] {
  const { B, Lk, Dq, Dk } = call.dims;
  const project = encodeMatmul(
    runtime,
    {
      x: operandOf(call.k as GpuTensor),
      xStrideM: Dk,
      M: B * Lk,
      K: Dk,
      weight: operandOf(call.weight as GpuTensor),
      N: Dq,
      out: plainOutput(buffers.pk, B * Lk, Dq),
    },
    plan.projectK,
  );
  const ops = multiplicativeOperands(call, plan, buffers);
  if ('flash' in plan.attention) return [project, ...encodeFlash(runtime, ops, plan.attention.flash, null)];
  const weights = { weights: buffers.weights!, lse: null, returnWeights: true };
  return [project, ...encodeNaive(runtime, ops, plan.attention.naive, weights)];
}
