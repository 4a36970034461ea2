/**
 * `attn.multiplicative`: multiplicative (Luong "general") attention. validate → plan → encode, one
 * submission: the key projection GEMM into scratch, then the flash kernel (or, with returnWeights,
 * the naive passes that write the weights).
 */
import type { GpuRuntime } from '../../gpu/runtime';
import { GpuTensor } from '../../tensor';
import { encodeMultiplicative } from './encode-multiplicative';
import { planMultiplicative } from './plan-multiplicative';
import { validateMultiplicative, type ScoreFunctionOutputs } from './validate';

/**
 * Runs multiplicative attention: score(i, j) = scale·qᵢᵀ·W·kⱼ (scale default 1). Returns the output
 * [B, Lq, Dv], or `{ output, weights }` with `returnWeights`.
 * @example
 * const o = multiplicative(runtime, q, k, v, { weight, causal: true }); // q [B, Lq, Dq], weight [Dq, Dk]
 */
export function multiplicative(
  runtime: GpuRuntime,
  q: unknown,
  k: unknown,
  v: unknown,
  options: unknown,
): GpuTensor | ScoreFunctionOutputs {
  const call = validateMultiplicative(runtime, q, k, v, options);
  const plan = planMultiplicative(call.dims, call, runtime.device.limits);
  const { B, Lq, Lk, Dq, Dv } = call.dims;
  const inputs = [call.q, call.k, call.v, call.weight, call.mask?.tensor];
  const { result, ready } = runtime.submit(inputs, (scope) => {
    const buffers = {
      pk: scope.scratch(B * Lk * Dq * 4, 'multiplicative projected keys'),
      out: scope.output(B * Lq * Dv * 4, 'multiplicative output'),
      weights: call.returnWeights ? scope.output(B * Lq * Lk * 4, 'multiplicative weights') : null,
    };
    const dispatches = encodeMultiplicative(runtime, call, plan, buffers);
    return { label: `multiplicative[B=${B},Lq=${Lq},Lk=${Lk}]`, dispatches, result: buffers };
  });
  const output = new GpuTensor(runtime, result.out.buffer, [B, Lq, Dv], 0, true, ready);
  if (!result.weights) return output;
  return { output, weights: new GpuTensor(runtime, result.weights.buffer, [B, Lq, Lk], 0, true, ready) };
}
