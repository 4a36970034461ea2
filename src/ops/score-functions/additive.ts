/**
 * `attn.additive`: additive (Bahdanau) attention. validate → plan → encode, one submission: the
 * projection GEMMs into scratch, the tiled additive kernel, and with returnWeights its weights pass.
 */
import type { GpuRuntime } from '../../gpu/runtime';
import { GpuTensor } from '../../tensor';
import { encodeAdditive } from './encode-additive';
import { planAdditive } from './plan-additive';
import { validateAdditive, type ScoreFunctionOutputs } from './validate';

/**
 * Runs additive attention: score(i, j) = vaᵀ·tanh(wq·qᵢ + wk·kⱼ + bias). Returns the output
 * [B, Lq, Dv], or `{ output, weights }` with `returnWeights`.
 * @example
 * const o = additive(runtime, q, k, v, { wq, wk, va, causal: true }); // q [B, Lq, Dq], wq [A, Dq]
 */
export function additive(
  runtime: GpuRuntime,
  q: unknown,
  k: unknown,
  v: unknown,
  options: unknown,
): GpuTensor | ScoreFunctionOutputs {
  const call = validateAdditive(runtime, q, k, v, options);
  const plan = planAdditive(call.dims, runtime.device.limits, call.returnWeights);
  const { B, Lq, Lk, A, Dv } = call.dims;
  const inputs = [call.q, call.k, call.v, call.wq, call.wk, call.va, call.bias, call.mask?.tensor];
  const { result, ready } = runtime.submit(inputs, (scope) => {
    const buffers = {
      pq: scope.scratch(B * Lq * A * 4, 'additive projection pq'),
      pk: scope.scratch(B * Lk * A * 4, 'additive projection pk'),
      out: scope.output(B * Lq * Dv * 4, 'additive output'),
      weights: plan.weights && {
        stats: scope.scratch(B * Lq * 2 * 4, 'additive row max and sum'),
        out: scope.output(plan.weights.elements * 4, 'additive weights'),
      },
    };
    const dispatches = encodeAdditive(runtime, call, plan, buffers);
    return { label: `additive[B=${B},Lq=${Lq},Lk=${Lk},A=${A}]`, dispatches, result: buffers };
  });
  const output = new GpuTensor(runtime, result.out.buffer, [B, Lq, Dv], 0, true, ready);
  if (!result.weights) return output;
  return { output, weights: new GpuTensor(runtime, result.weights.out.buffer, [B, Lq, Lk], 0, true, ready) };
}
