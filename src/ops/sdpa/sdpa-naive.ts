/**
 * `attn.sdpaNaive`: the three-pass attention that materialises the scores (QKᵀ, softmax, ·V).
 * The baseline the flash kernel is measured against, and the path that returns the weights.
 */
import type { GpuRuntime } from '../../gpu/runtime';
import { GpuTensor } from '../../tensor';
import { encodeNaive } from './encode-naive';
import { operandsOf } from './operands';
import { planNaive } from './plan-naive';
import { checkBindable, checkReturnWeights, validateAttentionCall, type SdpaNaiveOptions } from './validate';

/** What `attn.sdpaNaive` returns when `returnWeights` or `returnLse` is set. */
export interface SdpaNaiveResult {
  output: GpuTensor;
  weights?: GpuTensor;
  lse?: GpuTensor;
}

/**
 * Runs the naive kernels. Returns the output, or `{ output, weights?, lse? }`.
 * @example
 * const { output, weights } = sdpaNaive(runtime, q, k, v, { returnWeights: true }) as SdpaNaiveResult;
 */
export function sdpaNaive(
  runtime: GpuRuntime,
  q: unknown,
  k: unknown,
  v: unknown,
  options?: SdpaNaiveOptions,
): GpuTensor | SdpaNaiveResult {
  const call = validateAttentionCall(runtime, q, k, v, options);
  const returnWeights = checkReturnWeights(options);
  checkBindable(runtime, call);
  const plan = planNaive(call.dims, runtime.device.limits);
  const { B, Hq, Lq, Lk, Dv } = call.dims;
  const { result, ready } = runtime.submit([call.q, call.k, call.v, call.mask?.mask], (scope) => {
    const weightsBytes = B * Hq * Lq * Lk * 4;
    const weights = returnWeights
      ? scope.output(weightsBytes, 'sdpa_naive weights')
      : scope.scratch(weightsBytes, 'sdpa_naive weights');
    const out = scope.output(B * Hq * Lq * Dv * 4, 'sdpa_naive output');
    const lse = call.options.returnLse ? scope.output(B * Hq * Lq * 4, 'sdpa_naive lse') : null;
    const dispatches = encodeNaive(runtime, operandsOf(call, out), plan, { weights, lse, returnWeights });
    return { label: 'sdpa_naive', dispatches, result: { out, weights, lse } };
  });
  const tensor = (b: GPUBufferBinding, shape: number[]) => new GpuTensor(runtime, b.buffer, shape, 0, true, ready);
  const output = tensor(result.out, call.outputShape);
  if (!returnWeights && !result.lse) return output;
  const outputs: SdpaNaiveResult = { output };
  if (returnWeights) outputs.weights = tensor(result.weights, [B, Hq, Lq, Lk]);
  if (result.lse) outputs.lse = tensor(result.lse, [B, Hq, Lq]);
  return outputs;
}
