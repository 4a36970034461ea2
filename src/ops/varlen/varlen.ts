/**
 * `attn.sdpaVarlen`: attention over variable-length sequences packed back to back (FlashAttention's
 * flash_attn_varlen_func), so that padding costs nothing. validate → plan → encode, one submission.
 */
import type { GpuRuntime } from '../../gpu/runtime';
import { GpuTensor } from '../../tensor';
import { encodeVarlen } from './encode';
import { planVarlen } from './plan';
import { validateVarlenGpuCall } from './validate';

/** What `attn.sdpaVarlen` returns with `returnLse: true`. */
export interface SdpaVarlenWithLse {
  /** [totalQ, Hq, Dv]. */
  output: GpuTensor;
  /** [Hq, totalQ], FlashAttention's varlen layout. */
  lse: GpuTensor;
}

/**
 * Runs the flash kernel once per sequence with queries, all in one submission. Returns the output
 * [totalQ, Hq, Dv], or `{ output, lse }` with `returnLse`.
 * @example
 * const o = sdpaVarlen(runtime, q, k, v, { cuSeqlensQ: [0, 3, 8], cuSeqlensK: [0, 3, 8], causal: true });
 */
export function sdpaVarlen(
  runtime: GpuRuntime,
  q: unknown,
  k: unknown,
  v: unknown,
  options: unknown,
): GpuTensor | SdpaVarlenWithLse {
  const call = validateVarlenGpuCall(runtime, q, k, v, options);
  const plan = planVarlen(call, runtime.device.limits);
  const { totalQ, Hq, Dv } = call.dims;
  const { result, ready } = runtime.submit([call.q, call.k, call.v], (scope) => {
    const out = scope.output(totalQ * Hq * Dv * 4, 'sdpa_varlen output');
    const lse = call.returnLse
      ? {
          target: scope.output(Hq * totalQ * 4, 'sdpa_varlen lse'),
          scratch: scope.scratch(plan.lseScratchElements * 4, 'sdpa_varlen lse of one sequence'),
          one: scope.scratch(4, 'sdpa_varlen lse copy weight', new Float32Array([1])),
        }
      : null;
    const dispatches = encodeVarlen(runtime, call, plan, out, lse);
    return { label: `sdpa_varlen[B=${call.batch}]`, dispatches, result: { out, lse: lse?.target ?? null } };
  });
  const output = new GpuTensor(runtime, result.out.buffer, [totalQ, Hq, Dv], 0, true, ready);
  if (!result.lse) return output;
  return { output, lse: new GpuTensor(runtime, result.lse.buffer, [Hq, totalQ], 0, true, ready) };
}
