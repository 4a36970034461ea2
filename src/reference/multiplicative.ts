/**
 * Multiplicative (Luong "general") attention on the CPU in float64: the oracle of
 * `attn.multiplicative` (docs/semantics.md §14).
 */
import {
  validateMultiplicativeCall,
  type MultiplicativeOptionsOf,
  type ValidatedMultiplicative,
} from '../contract/score-functions';
import type { HostResult, HostTensor } from '../contract/types';
import { attendRows, float64, HOST_CHECKS, type ReferenceScoreOutputs } from './score-functions';

/** Options of `reference.multiplicative`: host tensors for the weight and the mask (Uint8Array data = boolean). */
export type ReferenceMultiplicativeOptions = MultiplicativeOptionsOf<HostTensor>;

function scores(call: ValidatedMultiplicative<HostTensor>): (b: number, i: number, j: number) => number {
  const { B, Lq, Lk, Dq, Dk } = call.dims;
  const [q, k, w] = [float64(call.q), float64(call.k), float64(call.weight)];
  // W·kⱼ for every key, [B·Lk, Dq]: then score = scale·qᵢ·(W·kⱼ).
  const wk = new Float64Array(B * Lk * Dq);
  for (let row = 0; row < B * Lk; row++) {
    for (let a = 0; a < Dq; a++) {
      let sum = 0;
      for (let d = 0; d < Dk; d++) sum += w[a * Dk + d] * k[row * Dk + d];
      wk[row * Dq + a] = sum;
    }
  }
  return (b, i, j) => {
    const [qa, ka] = [(b * Lq + i) * Dq, (b * Lk + j) * Dq];
    let s = 0;
    for (let a = 0; a < Dq; a++) s += q[qa + a] * wk[ka + a];
    return call.scale * s;
  };
}

/** multiplicative returning the weights. */
export function multiplicative(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options: ReferenceMultiplicativeOptions & { returnWeights: true },
): ReferenceScoreOutputs;
/** multiplicative returning the output only. */
export function multiplicative(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options: ReferenceMultiplicativeOptions & { returnWeights?: false },
): HostResult;
/** multiplicative whose return shape is only known at run time. */
export function multiplicative(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options: ReferenceMultiplicativeOptions,
): HostResult | ReferenceScoreOutputs;
/**
 * Multiplicative attention in float64: score(i, j) = scale·qᵢᵀ·W·kⱼ (scale default 1), softmax over
 * the keys (causal and the mask as in sdpa), then Σ p·v. q [B, Lq, Dq], k [B, Lk, Dk],
 * v [B, Lk, Dv], weight [Dq, Dk] → [B, Lq, Dv]. Throws an AttentionError naming the bad argument.
 * @example
 * const t = (data: number[], shape: number[]) => ({ data, shape });
 * const out = multiplicative(t([1], [1, 1, 1]), t([1, 2], [1, 2, 1]), t([10, 20], [1, 2, 1]),
 *   { weight: t([1], [1, 1]) });
 * out.data; // scores [1, 2] → Float64Array [17.3105…], as sdpa with scale 1
 */
export function multiplicative(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options: ReferenceMultiplicativeOptions,
): HostResult | ReferenceScoreOutputs {
  const call = validateMultiplicativeCall(q, k, v, options, HOST_CHECKS);
  return attendRows(call, scores(call));
}
