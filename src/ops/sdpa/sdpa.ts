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
  const { dims } = call;
  const outBytes = dims.B * dims.Hq * dims.Lq * dims.Dv * 4;
  const lseBytes = dims.B * dims.Hq * dims.Lq * 4;
  const outBuffer = runtime.pool.acquire(outBytes, 'sdpa output');
  const lseBuffer = call.options.returnLse ? runtime.pool.acquire(lseBytes, 'sdpa lse') : null;
  const ops = operandsOf(call, { buffer: outBuffer, size: outBytes });
  const encoded = encodeFlash(runtime, ops, plan, lseBuffer ? { buffer: lseBuffer, size: lseBytes } : null);
  const ready = runtime.run(encoded.dispatch.pipeline.label, [encoded.dispatch]);
  encoded.release();
  const output = new GpuTensor(runtime, outBuffer, call.outputShape, 0, true);
  output.ready = ready;
  if (!lseBuffer) return output;
  const lse = new GpuTensor(runtime, lseBuffer, [dims.B, dims.Hq, dims.Lq], 0, true);
  lse.ready = ready;
  return { output, lse };
}
