/**
 * Validation of a neighbourhood-attention call on the GPU: the contract's checks (shapes, kernel,
 * dilation, causal, rpb) plus what only the GPU path has (tensors of this context, buffer limits).
 */
import {
  checkNeighborhoodOptions,
  validateNeighborhood,
  type ValidatedNeighborhood,
} from '../../contract/neighborhood';
import type { Neighborhood1dOptionsOf, Neighborhood2dOptionsOf } from '../../contract/neighborhood-options';
import { checkAllFit } from '../../gpu/limits';
import type { GpuRuntime } from '../../gpu/runtime';
import { checkTensor, F32_OR_F16, type GpuTensor } from '../../tensor';

/** Options of `attn.neighborhood2d` (rpb: a GpuTensor [Hq, 2ky−1, 2kx−1]). */
export type Neighborhood2dOptions = Neighborhood2dOptionsOf<GpuTensor>;
/** Options of `attn.neighborhood1d` (rpb: a GpuTensor [Hq, 2k−1]). */
export type Neighborhood1dOptions = Neighborhood1dOptionsOf<GpuTensor>;

/** Everything encode needs, checked: nothing past this point throws an AttentionError. */
export interface LocalCall extends ValidatedNeighborhood {
  q: GpuTensor;
  k: GpuTensor;
  v: GpuTensor;
  rpb: GpuTensor | null;
}

/**
 * Checks a 1-D (`rank` 1) or 2-D call; the result is in the 2-D form.
 * @example
 * validateLocalCall(runtime, 2, q, k, v, { kernel: 7 }).dims; // { B, Hq, Hkv, Y, X, D, Dv }
 */
export function validateLocalCall(
  runtime: GpuRuntime,
  rank: 1 | 2,
  q: unknown,
  k: unknown,
  v: unknown,
  options: unknown,
): LocalCall {
  runtime.assertAlive();
  // Every float input may hold f16 storage (the kernel widens it to f32).
  const qT = checkTensor(runtime, 'q', q, false, F32_OR_F16);
  const kT = checkTensor(runtime, 'k', k, false, F32_OR_F16);
  const vT = checkTensor(runtime, 'v', v, false, F32_OR_F16);
  const o = checkNeighborhoodOptions(options);
  const rpb = o.rpb === undefined ? null : checkTensor(runtime, 'options.rpb', o.rpb, false, F32_OR_F16);
  const validated = validateNeighborhood(rank, { q: qT.shape, k: kT.shape, v: vT.shape, rpb: rpb?.shape }, o);
  const { B, Hq, Y, X, Dv } = validated.dims;
  const outputElements = B * Hq * Y * X * Dv;
  checkAllFit(runtime.device.limits, { q: qT, k: kT, v: vT }, outputElements);
  return { ...validated, q: qT, k: kT, v: vT, rpb };
}
