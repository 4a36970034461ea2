/**
 * Plan of a packed (variable-length) call: the flash kernel's plan for each sequence that has
 * queries, and, with returnLse, the GEMM that puts its log-sum-exp in place. Pure, from the
 * sequences and the device's limits.
 */
import type { VarlenDims, VarlenSequence } from '../../contract/varlen';
import type { DeviceLimits } from '../../gpu/limits';
import { planMatmul, type MatmulPlan } from '../linear/plan';
import { planSdpa, type SdpaPlan } from '../sdpa/plan';

/** One sequence's work. */
export interface VarlenStep {
  sequence: VarlenSequence;
  flash: SdpaPlan;
  /** With returnLse: the 1×1 GEMM copying its lse [Hq, Lq] into columns qStart … of lse [Hq, totalQ]. */
  lseCopy: MatmulPlan | null;
}

export interface VarlenPlan {
  steps: VarlenStep[];
  /** f32 elements of the lse scratch every sequence reuses in turn (Hq · its longest Lq), 0 without lse. */
  lseScratchElements: number;
}

/**
 * Plans every sequence with queries; throws an AttentionError on 'q' when one cannot run on the
 * device (head dims too large, a grid past the dispatch limits).
 * @example
 * planVarlen({ dims, sequences, returnLse: false }, device.limits).steps.length; // sequences with queries
 */
export function planVarlen(
  call: { dims: VarlenDims; sequences: readonly VarlenSequence[]; returnLse: boolean },
  limits: DeviceLimits,
): VarlenPlan {
  const { Hq } = call.dims;
  const steps = call.sequences.map((sequence) => ({
    sequence,
    // A sequence without keys still runs the kernel, which writes its zeros and −∞: plan it as
    // one key (one tile, no key split), as sdpa itself never plans Lk = 0.
    flash: planSdpa({ ...sequence.dims, Lk: Math.max(1, sequence.dims.Lk) }, limits),
    lseCopy: call.returnLse ? planMatmul({ M: Hq * sequence.dims.Lq, N: 1, K: 1 }, limits, 'q') : null,
  }));
  const longest = call.sequences.reduce((m, s) => Math.max(m, s.dims.Lq), 0);
  return { steps, lseScratchElements: call.returnLse ? Hq * longest : 0 };
}
