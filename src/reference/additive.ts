/**
 * Additive (Bahdanau) attention on the CPU in float64: the oracle of `attn.additive`
 * (docs/semantics.md §14).
 */
import { validateAdditiveCall, type AdditiveOptionsOf, type ValidatedAdditive } from '../contract/score-functions';
import type { HostResult, HostTensor } from '../contract/types';
import { attendRows, float64, HOST_CHECKS, type ReferenceScoreOutputs } from './score-functions';

/** Options of `reference.additive`: host tensors for the weights and the mask (Uint8Array data = boolean). */
export type ReferenceAdditiveOptions = AdditiveOptionsOf<HostTensor>;

/** x [B, L, D] projected by w [A, D] (+ bias [A]): [B·L, A] in float64. */
function project(x: HostTensor, w: Float64Array, bias: Float64Array | null, A: number): Float64Array {
  const [B, L, D] = x.shape;
  const xs = float64(x);
  const out = new Float64Array(B * L * A);
  for (let row = 0; row < B * L; row++) {
    for (let a = 0; a < A; a++) {
      let sum = bias ? bias[a] : 0;
      for (let d = 0; d < D; d++) sum += w[a * D + d] * xs[row * D + d];
      out[row * A + a] = sum;
    }
  }
  return out;
}

function scores(call: ValidatedAdditive<HostTensor>): (b: number, i: number, j: number) => number {
  const { Lq, Lk, A } = call.dims;
  const pq = project(call.q, float64(call.wq), call.bias && float64(call.bias), A);
  const pk = project(call.k, float64(call.wk), null, A);
  const va = float64(call.va);
  return (b, i, j) => {
    const [qa, ka] = [(b * Lq + i) * A, (b * Lk + j) * A];
    let s = 0;
    for (let a = 0; a < A; a++) s += va[a] * Math.tanh(pq[qa + a] + pk[ka + a]);
    return s;
  };
}

/** additive returning the weights. */
export function additive(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options: ReferenceAdditiveOptions & { returnWeights: true },
): ReferenceScoreOutputs;
/** additive returning the output only. */
export function additive(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options: ReferenceAdditiveOptions & { returnWeights?: false },
): HostResult;
/** additive whose return shape is only known at run time. */
export function additive(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options: ReferenceAdditiveOptions,
): HostResult | ReferenceScoreOutputs;
/**
 * Additive attention in float64: score(i, j) = vaᵀ·tanh(wq·qᵢ + wk·kⱼ + bias), softmax over the keys
 * (causal and the mask as in sdpa), then Σ p·v. q [B, Lq, Dq], k [B, Lk, Dk], v [B, Lk, Dv] →
 * [B, Lq, Dv]. Throws an AttentionError naming the bad argument.
 * @example
 * const t = (data: number[], shape: number[]) => ({ data, shape });
 * const out = additive(t([1], [1, 1, 1]), t([0, 1], [1, 2, 1]), t([10, 20], [1, 2, 1]),
 *   { wq: t([1], [1, 1]), wk: t([1], [1, 1]), va: t([1], [1]) });
 * out.data; // scores [tanh 1, tanh 2] → Float64Array [15.5043…]
 */
export function additive(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options: ReferenceAdditiveOptions,
): HostResult | ReferenceScoreOutputs {
  const call = validateAdditiveCall(q, k, v, options, HOST_CHECKS);
  return attendRows(call, scores(call));
}
