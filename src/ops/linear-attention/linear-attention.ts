/**
 * `attn.linearAttention`: kernelised attention at O(L·D·Dv) (Katharopoulos et al. 2020).
 * validate → plan → encode, one submission.
 */
import type { GpuRuntime } from '../../gpu/runtime';
import { GpuTensor } from '../../tensor';
import { encodeLinearAttention } from './encode';
import { planLinearAttention } from './plan';
import { validateLinearAttentionGpuCall } from './validate';

export type { LinearAttentionOptions } from '../../contract/linear-attention';

/**
 * out_i = φ(q_i)·Σ_j φ(k_j)ᵀv_j / (φ(q_i)·Σ_j φ(k_j) + eps) over every key, or j ≤ i when causal,
 * for q [B, Hq, Lq, D], k [B, Hkv, Lk, D], v [B, Hkv, Lk, Dv]; returns [B, Hq, Lq, Dv].
 * @example
 * const o = linearAttention(runtime, q, k, v, { featureMap: 'elu+1', causal: true });
 */
export function linearAttention(runtime: GpuRuntime, q: unknown, k: unknown, v: unknown, options?: unknown): GpuTensor {
  const call = validateLinearAttentionGpuCall(runtime, q, k, v, options);
  const plan = planLinearAttention(call.dims, call.options.causal, runtime.device.limits);
  const { B, Hq, Lq, Dv } = call.dims;
  const { result, ready } = runtime.submit([call.q, call.k, call.v], (scope) => {
    const out = scope.output(B * Hq * Lq * Dv * 4, 'linear_attention output');
    const dispatches = encodeLinearAttention(runtime, call, plan, out);
    return { label: dispatches[dispatches.length - 1].pipeline.label, dispatches, result: out };
  });
  return new GpuTensor(runtime, result.buffer, [B, Hq, Lq, Dv], 0, true, ready);
}
