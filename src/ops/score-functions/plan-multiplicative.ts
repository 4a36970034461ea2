/**
 * Plan of a multiplicative call: the GEMM that projects the keys (W·kⱼ for every key, [B·Lk, Dq]),
 * then the sdpa family's flash kernel, or with returnWeights its naive passes, on [B, 1, L, D]
 * views. Pure: from the sizes and the device's limits, so it is unit-tested without a GPU.
 */
import type { ScoreDims } from '../../contract/score-functions';
import { validateSdpaOptions, type ResolvedSdpaOptions, type SdpaDims } from '../../contract/sdpa';
import { checkFits, type DeviceLimits } from '../../gpu/limits';
import { planMatmul, type MatmulPlan } from '../linear/plan';
import { planSdpa, type SdpaPlan } from '../sdpa/plan';
import { planNaive, type NaivePlan } from '../sdpa/plan-naive';

export interface MultiplicativePlan {
  /** pk = k·Wᵀ: row j is W·kⱼ, so score(i, j) = scale·qᵢ·pkⱼ, sdpa with D = Dq. */
  projectK: MatmulPlan;
  /** The attention call as sdpa sees it: one head (Hq = Hkv = 1), D = Dq. */
  dims: SdpaDims;
  /** sdpa's options with its defaults: the scale, upper-left causal, nothing else. */
  options: ResolvedSdpaOptions;
  attention: { flash: SdpaPlan } | { naive: NaivePlan };
}

/** A score-function call as an sdpa call of one head, with the keys projected to Dq. */
export function sdpaDimsOf(dims: ScoreDims): SdpaDims {
  return { B: dims.B, Hq: 1, Hkv: 1, Lq: dims.Lq, Lk: dims.Lk, D: dims.Dq, Dv: dims.Dv };
}

/**
 * Plans the key projection and the attention kernel (flash, or naive with returnWeights). Throws an
 * AttentionError when the call cannot run on this device.
 * @example
 * planMultiplicative(call.dims, call, device.limits).attention; // call from validateMultiplicative
 * // { flash: … }
 */
export function planMultiplicative(
  dims: ScoreDims,
  call: { scale: number; causal: boolean; returnWeights: boolean },
  limits: DeviceLimits,
): MultiplicativePlan {
  const { B, Lk, Dq, Dk } = dims;
  checkFits(limits, 'k', B * Lk * Dq, B * Lk * Dq * 4); // the projected keys
  const sdpa = sdpaDimsOf(dims);
  return {
    projectK: planMatmul({ M: B * Lk, N: Dq, K: Dk }, limits, 'k'),
    dims: sdpa,
    // Checked already (a float32 scale > 0, a flag): sdpa's defaults fill in every other option.
    options: validateSdpaOptions({ scale: call.scale, causal: call.causal }, sdpa),
    attention: call.returnWeights
      ? { naive: planNaive(sdpa, limits, 'options.returnWeights') }
      : { flash: planSdpa(sdpa, limits) },
  };
}
