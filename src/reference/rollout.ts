/**
 * Attention rollout on the CPU in float64 (Abnar and Zuidema 2020; docs/semantics.md, "Attention
 * rollout"), the oracle of `attn.attentionRollout`. Per layer and batch row: Â = the heads fused
 * (mean, max or min); in each row the ⌊ratio·L⌋ lowest off-diagonal entries zeroed; with
 * `residual`, Â ← (0.5·Â + 0.5·I) with each row divided by its sum. Then R = Â_N ⋯ Â_2·Â_1.
 */
import { validateRolloutCall, type HeadFusion, type RolloutOptions } from '../contract/rollout';
import type { HostResult, HostTensor } from '../contract/types';
import { float64, HOST_CHECKS } from './score-functions';

/**
 * The entries of row `row` (length L, diagonal at `diagonal`) that the discard zeroes: the
 * `count` lowest off-diagonal ones, a tie going to the lower column. Entry j is zeroed when fewer
 * than `count` off-diagonal entries k come before it: a[k] < a[j], or a[k] = a[j] and k < j. The
 * GPU counts the same way, so both zero the same entries (NaN compares false both ways).
 */
export function discarded(row: ArrayLike<number>, diagonal: number, count: number): boolean[] {
  const L = row.length;
  const zero = new Array<boolean>(L).fill(false);
  if (count === 0) return zero;
  for (let j = 0; j < L; j++) {
    if (j === diagonal) continue;
    let before = 0;
    for (let k = 0; k < L; k++) {
      if (k === diagonal || k === j) continue;
      if (row[k] < row[j] || (row[k] === row[j] && k < j)) before++;
    }
    zero[j] = before < count;
  }
  return zero;
}

/** The fused heads of batch b of one layer, [L, L]. */
function fuse(w: Float64Array, b: number, H: number, L: number, fusion: HeadFusion): Float64Array {
  const out = new Float64Array(L * L);
  for (let e = 0; e < L * L; e++) {
    let acc = w[b * H * L * L + e];
    for (let h = 1; h < H; h++) {
      const v = w[(b * H + h) * L * L + e];
      acc = fusion === 'mean' ? acc + v : fusion === 'max' ? Math.max(acc, v) : Math.min(acc, v);
    }
    out[e] = fusion === 'mean' ? acc / H : acc;
  }
  return out;
}

/**
 * Attention rollout in float64 over per-layer weights [B, H, L, L] (or [B, L, L]), first layer
 * first; returns R [B, L, L] with R = Â_N ⋯ Â_1 (row i: how much token i draws on each input token).
 * @example
 * const t = (data: number[]) => ({ data, shape: [1, 1, 2, 2] });
 * attentionRollout([t([1, 0, 1, 0])], { headFusion: 'mean' }).data;
 * // 0.5·Â + 0.5·I, rows renormalised: [1, 0, 0.5, 0.5]
 */
export function attentionRollout(weights: readonly HostTensor[], options: RolloutOptions): HostResult {
  const call = validateRolloutCall(weights, options, HOST_CHECKS);
  const { B, H, L } = call.dims;
  const out = new Float64Array(B * L * L);
  for (let b = 0; b < B; b++) {
    let R: Float64Array | null = null;
    for (const layer of call.weights) {
      const a = fuse(float64(layer), b, H, L, call.headFusion);
      for (let i = 0; i < L; i++) {
        const row = a.subarray(i * L, (i + 1) * L);
        discarded(row, i, call.discardCount).forEach((zero, j) => zero && (row[j] = 0));
        if (!call.residual) continue;
        let sum = 0;
        for (let j = 0; j < L; j++) sum += row[j] = 0.5 * row[j] + (i === j ? 0.5 : 0);
        for (let j = 0; j < L; j++) row[j] /= sum;
      }
      R = R ? matmul(a, R, L) : a;
    }
    out.set(R!, b * L * L);
  }
  return { data: out, shape: [B, L, L] };
}

/** a·r for [L, L] matrices. */
function matmul(a: Float64Array, r: Float64Array, L: number): Float64Array {
  const out = new Float64Array(L * L);
  for (let i = 0; i < L; i++) {
    for (let k = 0; k < L; k++) {
      const aik = a[i * L + k];
      for (let j = 0; j < L; j++) out[i * L + j] += aik * r[k * L + j];
    }
  }
  return out;
}
