/**
 * `attn.sdpaPaged`: attention of a batch of queries, row b over the tokens sequence b of a paged
 * KV cache holds, read through its page table (FlashAttention's flash_attn_with_kvcache with a
 * block_table, vLLM's paged attention). validate → plan (a flash plan per row, split-K for long
 * sequences) → encode (one flash pass per row), one submission.
 */
import type { GpuRuntime } from '../../gpu/runtime';
import { GpuTensor } from '../../tensor';
import { encodePaged } from './encode';
import { planPaged } from './plan';
import { validateSdpaPaged } from './validate';

/** What `attn.sdpaPaged` returns with `returnLse: true`. */
export interface SdpaPagedWithLse {
  /** [B, Hq, Lq, Dv] (or bshd). */
  output: GpuTensor;
  /** [B, Hq, Lq]. */
  lse: GpuTensor;
}

/**
 * Runs the flash kernel for each batch row over its sequence's pages. Returns the output, or
 * `{ output, lse }` with `returnLse`.
 * @example
 * const o = sdpaPaged(runtime, q, cache, { sequences: [a, b], causal: true, alignment: 'lower-right' });
 */
export function sdpaPaged(
  runtime: GpuRuntime,
  q: unknown,
  cache: unknown,
  options: unknown,
): GpuTensor | SdpaPagedWithLse {
  const call = validateSdpaPaged(runtime, q, cache, options);
  const steps = planPaged(call.rows, runtime.device.limits);
  const { B, Hq, Lq, Dv } = call.dims;
  const { keys, values } = call.state;
  const { result, ready } = runtime.submit([call.q, keys, values], (scope) => {
    const out = scope.output(B * Hq * Lq * Dv * 4, 'sdpa_paged output');
    const lse = call.returnLse ? scope.output(B * Hq * Lq * 4, 'sdpa_paged lse') : null;
    const dispatches = encodePaged(runtime, call, steps, out, lse);
    return { label: `sdpa_paged[B=${B}]`, dispatches, result: { out, lse } };
  });
  const shape = call.layout === 'bshd' ? [B, Lq, Hq, Dv] : [B, Hq, Lq, Dv];
  const output = new GpuTensor(runtime, result.out.buffer, shape, 0, true, ready);
  if (!result.lse) return output;
  return { output, lse: new GpuTensor(runtime, result.lse.buffer, [B, Hq, Lq], 0, true, ready) };
}
