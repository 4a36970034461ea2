/**
 * `attn.attentionRollout` (Abnar and Zuidema 2020; docs/semantics.md, "Attention rollout"):
 * validate → plan → encode, one submission: each layer's heads fused, discarded, mixed with the
 * identity and renormalised on the GPU, and multiplied through the layers by the GEMM.
 */
import type { GpuRuntime } from '../../gpu/runtime';
import { GpuTensor } from '../../tensor';
import { encodeRollout } from './encode';
import { planRollout } from './plan';
import { validateRollout } from './validate';

/**
 * R = Â_N ⋯ Â_1 [B, L, L] from per-layer weights [B, H, L, L] (or [B, L, L]), first layer first.
 * @example
 * const r = attentionRollout(runtime, [w1, w2, w3], { headFusion: 'mean' }); // r [B, L, L]
 */
export function attentionRollout(runtime: GpuRuntime, weights: unknown, options: unknown): GpuTensor {
  const call = validateRollout(runtime, weights, options);
  const plan = planRollout(call.dims, runtime.device.limits);
  const { layers, B, H, L } = call.dims;
  const { result, ready } = runtime.submit(call.weights, (scope) => {
    const take = (elements: number, what: string) =>
      elements > 0 ? scope.scratch(elements * 4, `attention rollout ${what}`) : null;
    const buffers = {
      fused: take(plan.scratch.fused, 'fused heads')!,
      transposed: take(plan.scratch.transposed, 'layer matrix (transposed)'),
      product: take(plan.scratch.product, 'partial product'),
      out: scope.output(B * L * L * 4, 'attention rollout output'),
    };
    const dispatches = encodeRollout(runtime, call, plan, buffers);
    return { label: `attention_rollout[layers=${layers},B=${B},H=${H},L=${L}]`, dispatches, result: buffers.out };
  });
  return new GpuTensor(runtime, result.buffer, [B, L, L], 0, true, ready);
}
