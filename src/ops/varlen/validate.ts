/**
 * Validation of an sdpaVarlen call on the GPU: the contract's checks (packed shapes, cu_seqlens,
 * options) plus what only the GPU path has (tensors of this context, device buffer limits).
 * Nothing past this point throws an AttentionError.
 */
import { validateVarlenCall, type ValidatedVarlen } from '../../contract/varlen';
import { checkAllFit } from '../../gpu/limits';
import type { GpuRuntime } from '../../gpu/runtime';
import { checkTensor, F32_OR_F16, type GpuTensor } from '../../tensor';

/** A checked packed call with its tensors. */
export interface ValidatedGpuVarlen extends ValidatedVarlen {
  q: GpuTensor;
  k: GpuTensor;
  v: GpuTensor;
}

/**
 * Checks every argument of an sdpaVarlen call.
 * @example
 * const call = validateVarlenGpuCall(runtime, q, k, v, { cuSeqlensQ: [0, 3, 8], cuSeqlensK: [0, 3, 8] });
 * call.sequences.length; // 2
 */
export function validateVarlenGpuCall(
  runtime: GpuRuntime,
  q: unknown,
  k: unknown,
  v: unknown,
  options: unknown,
): ValidatedGpuVarlen {
  runtime.assertAlive();
  const qT = checkTensor(runtime, 'q', q, false, F32_OR_F16);
  const kT = checkTensor(runtime, 'k', k, false, F32_OR_F16);
  const vT = checkTensor(runtime, 'v', v, false, F32_OR_F16);
  const call = validateVarlenCall(qT.shape, kT.shape, vT.shape, options);
  const { totalQ, Hq, Dv } = call.dims;
  checkAllFit(runtime.device.limits, { q: qT, k: kT, v: vT }, totalQ * Hq * Dv);
  return { ...call, q: qT, k: kT, v: vT };
}
