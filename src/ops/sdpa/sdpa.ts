/**
 * `attn.sdpa`: the tiled (flash) scaled-dot-product attention. validate → plan → encode.
 */
import type { GpuRuntime } from '../../gpu/runtime';
import { GpuTensor } from '../../tensor';
import { encodeFlash } from './encode';
import { operandsOf } from './operands';
import { planSdpa } from './plan';
import { checkTile, validateAttentionCall, type SdpaOptions } from './validate';

/** What `attn.sdpa` returns with `returnLse: true`. */
export interface SdpaWithLse {
  output: GpuTensor;
  lse: GpuTensor;
}

/**
 * Runs the flash kernel. Returns the output, or `{ output, lse }` with `returnLse`.
 * @example
 * const o = sdpa(runtime, q, k, v, { causal: true });
 */
export function sdpa(
  runtime: GpuRuntime,
  q: unknown,
  k: unknown,
  v: unknown,
  options?: SdpaOptions,
): GpuTensor | SdpaWithLse {
  const call = validateAttentionCall(runtime, q, k, v, options);
  const plan = planSdpa(call.dims, runtime.device.limits, checkTile(options?.tile));
  const { B, Hq, Lq, Dv } = call.dims;
  const { result, ready } = runtime.submit([call.q, call.k, call.v, call.mask?.mask], (scope) => {
    const out = scope.output(B * Hq * Lq * Dv * 4, 'sdpa output');
    const lse = call.options.returnLse ? scope.output(B * Hq * Lq * 4, 'sdpa lse') : null;
    const dispatches = encodeFlash(runtime, operandsOf(call, out), plan, lse);
    return { label: dispatches[0].pipeline.label, dispatches, result: { out, lse } };
  });
  const output = new GpuTensor(runtime, result.out.buffer, call.outputShape, 0, true, ready);
  if (!result.lse) return output;
  return { output, lse: new GpuTensor(runtime, result.lse.buffer, [B, Hq, Lq], 0, true, ready) };
}
