/**
 * Validation of `attn.channelAttention`, `attn.spatialAttention` and `attn.cbam`: the contract's
 * checks (shared with their reference twins) with f32 GpuTensors of this context, plus what only
 * the GPU has (buffer limits). Nothing past this point throws an AttentionError but the plan's
 * device checks.
 */
import type { TensorChecks } from '../../contract/multi-head-options';
import {
  validateCbamCall,
  validateChannelAttentionCall,
  validateSpatialAttentionCall,
  type CbamOptionsOf,
  type ChannelAttentionOptionsOf,
  type SpatialAttentionOptionsOf,
  type ValidatedVision,
} from '../../contract/vision';
import { checkFits } from '../../gpu/limits';
import type { GpuRuntime } from '../../gpu/runtime';
import { checkTensor, type GpuTensor } from '../../tensor';

/** Options of `attn.channelAttention`: f32 GpuTensors for the weights. */
export type ChannelAttentionOptions = ChannelAttentionOptionsOf<GpuTensor>;
/** Options of `attn.spatialAttention`. */
export type SpatialAttentionOptions = SpatialAttentionOptionsOf<GpuTensor>;
/** Options of `attn.cbam`. */
export type CbamOptions = CbamOptionsOf<GpuTensor>;

export type VisionOp = 'channel' | 'spatial' | 'cbam';

/** f32 GpuTensors of this context, live, contiguous, each within one binding. */
function gpuChecks(runtime: GpuRuntime): TensorChecks<GpuTensor> {
  return {
    tensor: (argument, value) => checkTensor(runtime, argument, value),
    isBool: () => false,
    contents: (argument, t) => checkFits(runtime.device.limits, argument, t.size, t.size * 4),
  };
}

const VALIDATORS = {
  channel: validateChannelAttentionCall,
  spatial: validateSpatialAttentionCall,
  cbam: validateCbamCall,
};

/**
 * Checks every argument of a feature-map attention call; the output (x's shape, f32) must fit one binding.
 * @example
 * const call = validateVision(runtime, 'cbam', x, { channel: { w1, w2 }, spatial: { weight } });
 */
export function validateVision(
  runtime: GpuRuntime,
  op: VisionOp,
  x: unknown,
  options: unknown,
): ValidatedVision<GpuTensor> {
  runtime.assertAlive();
  const call = VALIDATORS[op](x, options, gpuChecks(runtime));
  checkFits(runtime.device.limits, 'output', call.x.size, call.x.size * 4);
  return call;
}
