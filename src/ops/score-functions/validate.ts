/**
 * Validation of `attn.additive` and `attn.multiplicative` on the GPU: the contract's checks (shared
 * with their reference twins) with tensors of this context, plus what only the GPU has (buffer
 * limits). Nothing past this point throws an AttentionError but the plans' device checks.
 */
import type { TensorChecks } from '../../contract/multi-head-options';
import {
  validateAdditiveCall,
  validateMultiplicativeCall,
  type AdditiveOptionsOf,
  type MultiplicativeOptionsOf,
  type ScoreDims,
  type ScoreOutputsOf,
  type ValidatedAdditive,
  type ValidatedMultiplicative,
} from '../../contract/score-functions';
import { AttentionError, describe } from '../../errors';
import { checkFits } from '../../gpu/limits';
import type { GpuRuntime } from '../../gpu/runtime';
import { F32_OR_F16, GpuMask, GpuTensor } from '../../tensor';

/** Options of `attn.additive`: GpuTensors (f32 or f16) for the weights, a float GpuTensor or a GpuMask for the mask. */
export type AdditiveOptions = AdditiveOptionsOf<GpuTensor, GpuTensor | GpuMask>;

/** Options of `attn.multiplicative`: a GpuTensor (f32 or f16) for the weight, a float GpuTensor or a GpuMask for the mask. */
export type MultiplicativeOptions = MultiplicativeOptionsOf<GpuTensor, GpuTensor | GpuMask>;

/** What `attn.additive` and `attn.multiplicative` return with `returnWeights: true`. */
export type ScoreFunctionOutputs = ScoreOutputsOf<GpuTensor>;

/** The type of `returnWeights` in options `O` (undefined when absent). */
type WeightsFlag<O> = 'returnWeights' extends keyof O ? O[keyof O & 'returnWeights'] : undefined;

/** What a call with options `O` returns: `{ output, weights }` with `returnWeights: true`, the output without. */
export type ScoreResult<O> = [WeightsFlag<O>] extends [true]
  ? ScoreFunctionOutputs
  : [WeightsFlag<O>] extends [false | undefined]
    ? GpuTensor
    : GpuTensor | ScoreFunctionOutputs;

/** GpuTensors (f32 or f16) and GpuMasks of this context, live, contiguous, each within one binding. */
function gpuChecks(runtime: GpuRuntime): TensorChecks<GpuTensor | GpuMask> {
  return {
    tensor(argument, value) {
      const tensor = value instanceof GpuTensor && F32_OR_F16.includes(value.dtype);
      if (!tensor && !(value instanceof GpuMask)) {
        throw new AttentionError(
          argument,
          describe(value),
          'a GpuTensor (f32 or f16; a GpuMask for a boolean mask) made by attn.tensor(), attn.mask() or attn.wrap()',
        );
      }
      value.assertUsable(argument, runtime);
      return value;
    },
    isBool: (t) => t instanceof GpuMask,
    contents: (argument, t) => checkFits(runtime.device.limits, argument, t.size, t.size * t.bytesPerElement),
  };
}

/** The output [B, Lq, Dv] must fit one binding. */
function checkOutput(runtime: GpuRuntime, dims: ScoreDims): void {
  const elements = dims.B * dims.Lq * dims.Dv;
  checkFits(runtime.device.limits, 'output', elements, elements * 4);
}

/**
 * Checks every argument of an additive call.
 * @example
 * const call = validateAdditive(runtime, q, k, v, { wq, wk, va });
 * call.dims.A; // wq's rows
 */
export function validateAdditive(
  runtime: GpuRuntime,
  q: unknown,
  k: unknown,
  v: unknown,
  options: unknown,
): ValidatedAdditive<GpuTensor | GpuMask> {
  runtime.assertAlive();
  const call = validateAdditiveCall(q, k, v, options, gpuChecks(runtime));
  checkOutput(runtime, call.dims);
  return call;
}

/**
 * Checks every argument of a multiplicative call.
 * @example
 * const call = validateMultiplicative(runtime, q, k, v, { weight, scale: 0.5 });
 * call.scale; // 0.5
 */
export function validateMultiplicative(
  runtime: GpuRuntime,
  q: unknown,
  k: unknown,
  v: unknown,
  options: unknown,
): ValidatedMultiplicative<GpuTensor | GpuMask> {
  runtime.assertAlive();
  const call = validateMultiplicativeCall(q, k, v, options, gpuChecks(runtime));
  checkOutput(runtime, call.dims);
  return call;
}
