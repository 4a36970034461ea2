/**
 * `attn.linformer`: low-rank attention (Wang et al. 2020), sdpa(q, E·k, F·v) with keys and values
 * projected along the sequence to r rows. validate → plan → encode, one submission.
 */
import type { GpuRuntime } from '../../gpu/runtime';
import { GpuTensor } from '../../tensor';
import { encodeLinformer } from './encode';
import { planLinformer } from './plan';
import { validateLinformerGpuCall } from './validate';

export type { LinformerOptions } from './validate';

/** What `attn.linformer` returns with `returnLse: true`. */
export interface LinformerWithLse {
  output: GpuTensor;
  /** [B, Hq, Lq]: the log-sum-exp over the r projected keys. */
  lse: GpuTensor;
}

/**
 * Projects k and v to r rows (E = options.projectK, F = options.projectV, both [r, Lk]) and runs
 * the flash kernel over them. Returns the output [B, Hq, Lq, Dv] (or bshd), or `{ output, lse }`.
 * @example
 * const o = linformer(runtime, q, k, v, { projectK: E, projectV: F, scale: 0.125 });
 */
export function linformer(
  runtime: GpuRuntime,
  q: unknown,
  k: unknown,
  v: unknown,
  options: unknown,
): GpuTensor | LinformerWithLse {
  const call = validateLinformerGpuCall(runtime, q, k, v, options);
  const plan = planLinformer(call.dims, runtime.device.limits);
  const { B, Hq, Lq, Dv } = call.dims;
  const inputs = [call.q, call.k, call.v, call.projectK, call.projectV, call.mask?.mask];
  const { result, ready } = runtime.submit(inputs, (scope) => {
    const out = scope.output(B * Hq * Lq * Dv * 4, 'linformer output');
    const lse = call.options.returnLse ? scope.output(B * Hq * Lq * 4, 'linformer lse') : null;
    const dispatches = encodeLinformer(runtime, call, plan, out, lse);
    return { label: `linformer[r=${call.dims.Lk}]`, dispatches, result: { out, lse } };
  });
  const output = new GpuTensor(runtime, result.out.buffer, call.outputShape, 0, true, ready);
  if (!result.lse) return output;
  return { output, lse: new GpuTensor(runtime, result.lse.buffer, [B, Hq, Lq], 0, true, ready) };
}
