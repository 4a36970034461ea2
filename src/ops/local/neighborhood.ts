/**
 * `attn.neighborhood2d` and `attn.neighborhood1d`: neighbourhood attention (NATTEN semantics) with
 * the kernel of shaders/local.wgsl. validate → plan → encode; a 1-D call is the 2-D path with Y = 1.
 */
import type { GpuRuntime } from '../../gpu/runtime';
import { GpuTensor } from '../../tensor';
import { encodeNeighborhood } from './encode';
import { planNeighborhood } from './plan';
import { validateLocalCall, type Neighborhood1dOptions, type Neighborhood2dOptions } from './validate';

function run(runtime: GpuRuntime, rank: 1 | 2, q: unknown, k: unknown, v: unknown, options: unknown): GpuTensor {
  const call = validateLocalCall(runtime, rank, q, k, v, options);
  const plan = planNeighborhood(call.dims, call.options.kernel, call.options.dilation, runtime.device.limits);
  const { B, Hq, Y, X, Dv } = call.dims;
  const { result, ready } = runtime.submit([call.q, call.k, call.v, call.rpb], (scope) => {
    const out = scope.output(B * Hq * Y * X * Dv * 4, `neighborhood${rank}d output`);
    const dispatch = encodeNeighborhood(runtime, call, plan, out);
    return { label: dispatch.pipeline.label, dispatches: [dispatch], result: out };
  });
  return new GpuTensor(runtime, result.buffer, call.outputShape, 0, true, ready);
}

/**
 * 2-D neighbourhood attention: each query attends to the kernel-sized (dilated, optionally causal)
 * window of keys around it. q [B, Hq, Y, X, D], k [B, Hkv, Y, X, D], v [B, Hkv, Y, X, Dv]
 * ('bhyxd'; 'byxhd' is channels-last). Returns [B, Hq, Y, X, Dv] in the same layout.
 * @example
 * const o = neighborhood2d(runtime, q, k, v, { kernel: 7, dilation: 2 });
 */
export function neighborhood2d(
  runtime: GpuRuntime,
  q: unknown,
  k: unknown,
  v: unknown,
  options: Neighborhood2dOptions,
): GpuTensor {
  return run(runtime, 2, q, k, v, options);
}

/**
 * 1-D neighbourhood attention over sequences: q [B, Hq, L, D] ('bhsd') or [B, L, Hq, D] ('bshd').
 * Runs the 2-D kernel with Y = 1.
 * @example
 * const o = neighborhood1d(runtime, q, k, v, { kernel: 5, causal: true });
 */
export function neighborhood1d(
  runtime: GpuRuntime,
  q: unknown,
  k: unknown,
  v: unknown,
  options: Neighborhood1dOptions,
): GpuTensor {
  return run(runtime, 1, q, k, v, options);
}
