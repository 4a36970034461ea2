/**
 * Validation of `attn.linearAttention`: the contract's checks (shapes, feature map, causal, eps)
 * plus what only the GPU path has (tensors of this context, buffer limits). Nothing past this
 * point throws an AttentionError but the plan's device checks.
 */
import { validateLinearAttentionCall, type ResolvedLinearAttention } from '../../contract/linear-attention';
import type { SdpaDims } from '../../contract/sdpa';
import { checkAllFit } from '../../gpu/limits';
import type { GpuRuntime } from '../../gpu/runtime';
import { checkTensor, F32_OR_F16, type GpuTensor } from '../../tensor';

/** A checked call: its tensors (contiguous bhsd, f32 or f16 each), sizes and resolved options. */
export interface ValidatedLinearAttention {
  q: GpuTensor;
  k: GpuTensor;
  v: GpuTensor;
  dims: SdpaDims;
  options: ResolvedLinearAttention;
}

/**
 * Checks every argument of a linear-attention call.
 * @example
 * validateLinearAttentionGpuCall(runtime, q, k, v, { featureMap: 'relu', causal: true }).dims.Dv;
 */
export function validateLinearAttentionGpuCall(
  runtime: GpuRuntime,
  q: unknown,
  k: unknown,
  v: unknown,
  options: unknown,
): ValidatedLinearAttention {
  runtime.assertAlive();
  const qT = checkTensor(runtime, 'q', q, false, F32_OR_F16);
  const kT = checkTensor(runtime, 'k', k, false, F32_OR_F16);
  const vT = checkTensor(runtime, 'v', v, false, F32_OR_F16);
  const { dims, options: resolved } = validateLinearAttentionCall(qT.shape, kT.shape, vT.shape, options);
  checkAllFit(runtime.device.limits, { q: qT, k: kT, v: vT }, dims.B * dims.Hq * dims.Lq * dims.Dv);
  return { q: qT, k: kT, v: vT, dims, options: resolved };
}
