/**
 * Validation of `attn.attentionRollout`: the contract's checks (shared with
 * `reference.attentionRollout`) with f32 GpuTensors of this context, plus what only the GPU has
 * (buffer limits). Nothing past this point throws an AttentionError but the plan's device checks.
 */
import type { TensorChecks } from '../../contract/multi-head-options';
import { validateRolloutCall, type ValidatedRollout } from '../../contract/rollout';
import { checkFits } from '../../gpu/limits';
import type { GpuRuntime } from '../../gpu/runtime';
import { checkTensor, type GpuTensor } from '../../tensor';

/**
 * Checks every argument of a rollout call; the output [B, L, L] (f32) must fit one binding.
 * @example
 * const call = validateRollout(runtime, [w1, w2, w3], { headFusion: 'max', discardRatio: 0.9 });
 */
export function validateRollout(runtime: GpuRuntime, weights: unknown, options: unknown): ValidatedRollout<GpuTensor> {
  runtime.assertAlive();
  const checks: TensorChecks<GpuTensor> = {
    tensor: (argument, value) => checkTensor(runtime, argument, value),
    isBool: () => false,
    contents: (argument, t) => checkFits(runtime.device.limits, argument, t.size, t.size * 4),
  };
  const call = validateRolloutCall(weights, options, checks);
  const { B, L } = call.dims;
  checkFits(runtime.device.limits, 'output', B * L * L, B * L * L * 4);
  return call;
}
