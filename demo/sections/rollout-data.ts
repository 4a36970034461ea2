/**
 * The Rollout section's model, as pure functions (the browser test rebuilds it in Node): a stack of
 * self-attention layers with fixed random weights (seeded; nothing is trained) over L random tokens,
 * and the head fusion of one layer's weights.
 */
import { hostNormal, type Host } from '../core/rng';

export const EMBED = 32;
export const HEADS = 4;

export interface RolloutParams {
  L: number;
  layers: number;
  headFusion: 'mean' | 'max' | 'min';
  residual: boolean;
  discardRatio: number;
}

/** The tokens x [1, L, 32]. */
export function tokens(L: number): Host {
  return hostNormal([1, L, EMBED], 301);
}

/** Layer `l`'s weights (nn.Linear layout): q and k drawn wider than v and o, so heads attend sharply. */
export function layerWeights(l: number): Record<'q' | 'k' | 'v' | 'o', Host> {
  const std = 1 / Math.sqrt(EMBED);
  return {
    q: hostNormal([EMBED, EMBED], 310 + 4 * l, 2.5 * std),
    k: hostNormal([EMBED, EMBED], 311 + 4 * l, 2.5 * std),
    v: hostNormal([EMBED, EMBED], 312 + 4 * l, std),
    o: hostNormal([EMBED, EMBED], 313 + 4 * l, std),
  };
}

/** A layer's config for attn.multiHeadAttention / reference.multiHeadAttention. */
export const layerConfig = { embedDim: EMBED, numHeads: HEADS };

/** One layer's weights [1, H, L, L] with the heads fused: [L, L]. */
export function fuseHeads(w: ArrayLike<number>, L: number, how: RolloutParams['headFusion']): Float32Array {
  const out = new Float32Array(L * L);
  for (let i = 0; i < L * L; i++) {
    let acc = how === 'mean' ? 0 : w[i];
    for (let h = 0; h < HEADS; h++) {
      const v = w[h * L * L + i];
      acc = how === 'mean' ? acc + v / HEADS : how === 'max' ? Math.max(acc, v) : Math.min(acc, v);
    }
    out[i] = acc;
  }
  return out;
}
