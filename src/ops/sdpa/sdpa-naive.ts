/**
 * `attn.sdpaNaive`: the three-pass attention that materialises the scores (QKᵀ, softmax, ·V).
 * The baseline the flash kernel is measured against, and the path that returns the weights.
 */
import type { GpuRuntime } from '../../gpu/runtime';
import { GpuTensor } from '../../tensor';
import { encodeNaive } from './encode-naive';
import { operandsOf } from './operands';
import { planNaive } from './plan-naive';
import { checkReturnWeights, validateAttentionCall, type SdpaNaiveOptions } from './validate';

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
  const plan = planNaive(call.dims, runtime.device.limits);
  const { B, Hq, Lq, Lk, Dv } = call.dims;
  const binding = (bytes: number, label: string): GPUBufferBinding => ({
    buffer: runtime.pool.acquire(bytes, label),
    size: bytes,
  });
  const weights = binding(B * Hq * Lq * Lk * 4, 'sdpa_naive weights');
  const out = binding(B * Hq * Lq * Dv * 4, 'sdpa_naive output');
  const lse = call.options.returnLse ? binding(B * Hq * Lq * 4, 'sdpa_naive lse') : null;
  const encoded = encodeNaive(runtime, operandsOf(call, out), plan, weights, lse);
  const ready = runtime.run('sdpa_naive', encoded.dispatches);
  encoded.release();
  const tensor = (b: GPUBufferBinding, shape: number[]) =>
    Object.assign(new GpuTensor(runtime, b.buffer, shape, 0, true), { ready });
  const output = tensor(out, call.outputShape);
  const weightsTensor = tensor(weights, [B, Hq, Lq, Lk]);
  if (!returnWeights) weightsTensor.destroy();
  if (!returnWeights && !lse) return output;
  const result: SdpaNaiveResult = { output };
  if (returnWeights) result.weights = weightsTensor;
  if (lse) result.lse = tensor(lse, [B, Hq, Lq]);
  return result;
}
