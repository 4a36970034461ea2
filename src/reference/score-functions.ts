/**
 * What the float64 twins of the score functions (additive.ts, multiplicative.ts) share: host
 * tensors as the contract's {@link TensorChecks}, and the rows of a call — causal and the mask
 * remove keys, the float mask is added, then the softmax of softmax.ts and the weighted sum of v.
 */
import type { TensorChecks } from '../contract/multi-head-options';
import type { ScoreDims, ScoreMask, ScoreOutputsOf } from '../contract/score-functions';
import type { HostResult, HostTensor } from '../contract/types';
import { asHostTensor, checkHostLength } from './host';
import { accumulateRow, softmaxRow } from './softmax';

/** What `reference.additive` and `reference.multiplicative` return with `returnWeights: true`. */
export type ReferenceScoreOutputs = ScoreOutputsOf<HostResult>;

/** Host tensors `{ data, shape }` whose data length matches the shape; Uint8Array data is boolean. */
export const HOST_CHECKS: TensorChecks<HostTensor> = {
  tensor: asHostTensor,
  isBool: (t) => t.data instanceof Uint8Array,
  contents: checkHostLength,
};

/** The numbers of a host tensor as float64. */
export function float64(t: HostTensor): Float64Array {
  return Float64Array.from(t.data as ArrayLike<number>);
}

/** A checked call, as the rows need it. */
interface Rows {
  dims: ScoreDims;
  v: HostTensor;
  mask: ScoreMask<HostTensor> | null;
  causal: boolean;
  returnWeights: boolean;
}

/**
 * The attention of every row: `score(b, i, j)` is called only for keys that causal and a boolean
 * mask leave (a removed key is never computed), the float mask is added to it, and a logit of −∞
 * removes the key too. Returns the output, or `{ output, weights }` with returnWeights.
 */
export function attendRows(
  call: Rows,
  score: (b: number, i: number, j: number) => number,
): HostResult | ReferenceScoreOutputs {
  const { B, Lq, Lk, Dv } = call.dims;
  const out = new Float64Array(B * Lq * Dv);
  const weights = call.returnWeights ? new Float64Array(B * Lq * Lk) : null;
  const logits = new Float64Array(Lk);
  const p = new Float64Array(Lk);
  const m = call.mask;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Lq; i++) {
      for (let j = 0; j < Lk; j++) {
        const at = m ? b * m.strides.b + i * m.strides.i + j * m.strides.j : 0;
        const kept = (!call.causal || j <= i) && !(m?.bool && m.tensor.data[at] === 0);
        logits[j] = kept ? score(b, i, j) + (m && !m.bool ? Number(m.tensor.data[at]) : 0) : -Infinity;
      }
      softmaxRow(logits, p);
      weights?.set(p, (b * Lq + i) * Lk);
      accumulateRow(logits, p, (j) => (b * Lk + j) * Dv, call.v.data, Dv, out, (b * Lq + i) * Dv);
    }
  }
  const output = { data: out, shape: [B, Lq, Dv] };
  return weights ? { output, weights: { data: weights, shape: [B, Lq, Lk] } } : output;
}
