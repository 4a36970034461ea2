/**
 * Linformer (low-rank attention) on the CPU in float64, by its definition: k' = E·k and v' = F·v
 * along the sequence (E = projectK, F = projectV, both [r, Lk]), then reference.sdpa(q, k', v')
 * with the remaining options, so the mask broadcasts over [B, Hq, Lq, r].
 */
import { checkLinformerOptions, validateLinformerCall, type LinformerOptionsOf } from '../contract/linformer';
import type { HostResult, HostTensor, Layout, ReferenceSdpaOptions } from '../contract/types';
import { asHostTensor, checkHost, checkHostLength } from './host';
import { sdpa, type ReferenceSdpaOutputs } from './sdpa';

/** Options of `reference.linformer`: host projections, the position-free sdpa options, and returnWeights. */
export type ReferenceLinformerOptions = LinformerOptionsOf<HostTensor, HostTensor> & { returnWeights?: boolean };

/**
 * P·x along the sequence for every (batch, head) of x [B, H, L, dim] (or [B, L, H, dim] in bshd):
 * x'[b, h, p, d] = Σ_j P[p, j]·x[b, h, j, d], in the same layout, with p < r.
 */
export function projectRows(x: HostTensor, p: HostTensor, layout: Layout): HostResult {
  const bshd = layout === 'bshd';
  const [B, a, c, dim] = x.shape;
  const [H, L] = bshd ? [c, a] : [a, c];
  const r = p.shape[0];
  const at = (b: number, h: number, l: number, len: number) =>
    (bshd ? (b * len + l) * H + h : (b * H + h) * len + l) * dim;
  const out = new Float64Array(B * H * r * dim);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let row = 0; row < r; row++) {
        const to = at(b, h, row, r);
        for (let j = 0; j < L; j++) {
          const w = Number(p.data[row * L + j]);
          const from = at(b, h, j, L);
          for (let d = 0; d < dim; d++) out[to + d] += w * Number(x.data[from + d]);
        }
      }
    }
  }
  return { data: out, shape: bshd ? [B, r, H, dim] : [B, H, r, dim] };
}

/** linformer returning lse and/or weights (over the r projected keys). */
export function linformer(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options: ReferenceLinformerOptions & ({ returnLse: true } | { returnWeights: true }),
): ReferenceSdpaOutputs;
/** linformer returning the output only. */
export function linformer(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options: ReferenceLinformerOptions & { returnLse?: false; returnWeights?: false },
): HostResult;
/** linformer whose return shape is only known at run time. */
export function linformer(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options: ReferenceLinformerOptions,
): HostResult | ReferenceSdpaOutputs;
/**
 * sdpa(q, E·k, F·v) in float64, E = options.projectK and F = options.projectV, both [r, Lk].
 * Throws an AttentionError naming a bad argument (as attn.linformer does).
 * @example
 * const t = (data: number[], shape: number[]) => ({ data, shape });
 * const E = t([0.5, 0.5], [1, 2]); // r = 1: the mean of the two keys
 * linformer(t([1], [1, 1, 1, 1]), t([1, 3], [1, 1, 2, 1]), t([10, 20], [1, 1, 2, 1]), { projectK: E, projectV: E }).data;
 * // one key, k' = 2, v' = 15: [15]
 */
export function linformer(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options: ReferenceLinformerOptions,
): HostResult | ReferenceSdpaOutputs {
  const [qt, kt, vt] = [asHostTensor('q', q), asHostTensor('k', k), asHostTensor('v', v)];
  const o = checkLinformerOptions(options) as ReferenceLinformerOptions;
  const e = checkHost('options.projectK', o.projectK, true);
  const f = checkHost('options.projectV', o.projectV, true);
  const call = validateLinformerCall(qt.shape, kt.shape, vt.shape, e.shape, f.shape, o);
  checkHostLength('k', kt);
  checkHostLength('v', vt);
  const { layout } = call.options;
  const { projectK: _e, projectV: _f, ...rest } = o;
  const sdpaOptions: ReferenceSdpaOptions = rest;
  return sdpa(qt, projectRows(kt, e, layout), projectRows(vt, f, layout), sdpaOptions);
}
