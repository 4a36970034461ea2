/**
 * The linear-attention contract (kernelised attention, Katharopoulos et al. 2020): shapes, the
 * feature map, causal and eps, shared by `attn.linearAttention` and `reference.linearAttention`
 * so both reject the same calls with the same messages (docs/semantics.md §15). Pure.
 */
import { AttentionError, describe } from '../errors';
import { checkFlag, checkObject, F32_MAX } from './checks';
import { validateSdpaShapes, type SdpaDims } from './sdpa';

/** φ, applied to every element of q and k: elu(x) + 1 (the paper's), or relu(x). */
export type FeatureMap = 'elu+1' | 'relu';

/** Options of `attn.linearAttention` and `reference.linearAttention`. */
export interface LinearAttentionOptions {
  /** φ: `'elu+1'` (default; φ(x) = x + 1 for x > 0, eˣ otherwise) or `'relu'` (max(x, 0)). */
  featureMap?: FeatureMap;
  /** Query i sums over keys j ≤ i only (needs Lq = Lk). Default false. */
  causal?: boolean;
  /** Added to each row's denominator φ(q_i)·Σφ(k_j). Default 1e-6; a normal float32 > 0. */
  eps?: number;
}

/** Options with their defaults applied. */
export interface ResolvedLinearAttention {
  featureMap: FeatureMap;
  causal: boolean;
  eps: number;
}

export const FEATURE_MAPS: readonly FeatureMap[] = ['elu+1', 'relu'];
const KEYS = ['featureMap', 'causal', 'eps'];
/** The smallest normal float32: a smaller eps would flush to 0 on the GPU, and 0/0 is NaN. */
export const F32_MIN_NORMAL = 1.1754943508222875e-38;

/**
 * Checks the options (unknown keys are refused: a misspelt option would otherwise change nothing).
 * @example
 * validateLinearAttentionOptions({ featureMap: 'relu' }); // { featureMap: 'relu', causal: false, eps: 1e-6 }
 */
export function validateLinearAttentionOptions(options: unknown): ResolvedLinearAttention {
  const o = checkObject('options', options, KEYS, true);
  const featureMap = o.featureMap ?? 'elu+1';
  if (!FEATURE_MAPS.includes(featureMap as FeatureMap)) {
    const names = FEATURE_MAPS.map((f) => `'${f}'`).join(', ');
    throw new AttentionError('options.featureMap', describe(featureMap), `one of ${names}`);
  }
  const eps = o.eps ?? 1e-6;
  if (typeof eps !== 'number' || !(eps >= F32_MIN_NORMAL && eps <= F32_MAX)) {
    throw new AttentionError(
      'options.eps',
      describe(eps),
      `a finite number > 0 that float32 holds as a normal number (${F32_MIN_NORMAL} to ${F32_MAX})`,
    );
  }
  return { featureMap: featureMap as FeatureMap, causal: checkFlag('options.causal', o.causal), eps };
}

/**
 * Checks q [B, Hq, Lq, D], k [B, Hkv, Lk, D], v [B, Hkv, Lk, Dv] (Hkv divides Hq, as in sdpa) and
 * the options; causal needs Lq = Lk.
 * @example
 * validateLinearAttentionCall([2, 3, 77, 40], [2, 3, 77, 40], [2, 3, 77, 24], { causal: true }).dims.Dv; // 24
 */
export function validateLinearAttentionCall(
  qShape: readonly number[],
  kShape: readonly number[],
  vShape: readonly number[],
  options: unknown,
): { dims: SdpaDims; options: ResolvedLinearAttention } {
  const dims = validateSdpaShapes(qShape, kShape, vShape, 'bhsd');
  const resolved = validateLinearAttentionOptions(options);
  if (resolved.causal && dims.Lk !== dims.Lq) {
    throw new AttentionError(
      'k',
      `${dims.Lk} keys (shape ${describe([...kShape])}) with causal: true`,
      `${dims.Lq} keys, as q has queries: causal linear attention pairs query i with keys j ≤ i`,
    );
  }
  return { dims, options: resolved };
}
