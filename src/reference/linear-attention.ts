/**
 * Linear attention on the CPU in float64 (Katharopoulos et al. 2020), the oracle of
 * `attn.linearAttention`: with φ the feature map,
 *   out_i = φ(q_i)·S / (φ(q_i)·z + eps),  S = Σ_j φ(k_j)ᵀ v_j,  z = Σ_j φ(k_j),
 * the sums over every key, or over j ≤ i when causal (running sums, row by row). O(L·D·Dv).
 */
import {
  validateLinearAttentionCall,
  type FeatureMap,
  type LinearAttentionOptions,
} from '../contract/linear-attention';
import type { HostResult, HostTensor } from '../contract/types';
import { checkHost } from './host';

/** φ of one element. */
export function featureOf(map: FeatureMap): (x: number) => number {
  return map === 'relu' ? (x) => Math.max(x, 0) : (x) => (x > 0 ? x + 1 : Math.exp(x));
}

/** φ of a row of D elements starting at `at`. */
function phiRow(data: HostTensor['data'], at: number, D: number, phi: (x: number) => number): Float64Array {
  const row = new Float64Array(D);
  for (let d = 0; d < D; d++) row[d] = phi(Number(data[at + d]));
  return row;
}

/**
 * Linear attention in float64: q [B, Hq, Lq, D], k [B, Hkv, Lk, D], v [B, Hkv, Lk, Dv] (query head
 * h reads kv head ⌊h / (Hq/Hkv)⌋) → [B, Hq, Lq, Dv]. Throws an AttentionError naming a bad argument.
 * @example
 * const t = (data: number[], shape: number[]) => ({ data, shape });
 * linearAttention(t([1], [1, 1, 1, 1]), t([0, 1], [1, 1, 2, 1]), t([10, 20], [1, 1, 2, 1]), { featureMap: 'relu' }).data;
 * // relu: φ(k) = [0, 1], so out = 2·20 / (2·1 + 1e-6) ≈ [19.99999]
 */
export function linearAttention(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options?: LinearAttentionOptions,
): HostResult {
  const [qt, kt, vt] = [checkHost('q', q, true), checkHost('k', k, true), checkHost('v', v, true)];
  const { dims, options: o } = validateLinearAttentionCall(qt.shape, kt.shape, vt.shape, options);
  const { B, Hq, Hkv, Lq, Lk, D, Dv } = dims;
  const phi = featureOf(o.featureMap);
  const out = new Float64Array(B * Hq * Lq * Dv);
  const state = new Float64Array(D * Dv);
  const z = new Float64Array(D);
  const addKey = (b: number, g: number, j: number) => {
    const fk = phiRow(kt.data, ((b * Hkv + g) * Lk + j) * D, D, phi);
    const vAt = ((b * Hkv + g) * Lk + j) * Dv;
    for (let d = 0; d < D; d++) {
      z[d] += fk[d];
      for (let c = 0; c < Dv; c++) state[d * Dv + c] += fk[d] * Number(vt.data[vAt + c]);
    }
  };
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const g = Math.floor(h / (Hq / Hkv));
      state.fill(0);
      z.fill(0);
      if (!o.causal) for (let j = 0; j < Lk; j++) addKey(b, g, j);
      for (let i = 0; i < Lq; i++) {
        if (o.causal) addKey(b, g, i);
        const fq = phiRow(qt.data, ((b * Hq + h) * Lq + i) * D, D, phi);
        let den = o.eps;
        for (let d = 0; d < D; d++) den += fq[d] * z[d];
        const at = ((b * Hq + h) * Lq + i) * Dv;
        for (let c = 0; c < Dv; c++) {
          let num = 0;
          for (let d = 0; d < D; d++) num += fq[d] * state[d * Dv + c];
          out[at + c] = num / den;
        }
      }
    }
  }
  return { data: out, shape: [B, Hq, Lq, Dv] };
}
