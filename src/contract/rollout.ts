/**
 * The contract of attention rollout (Abnar and Zuidema 2020; docs/semantics.md, "Attention
 * rollout"): a list of per-layer attention weights [B, H, L, L], the head fusion, the residual and
 * the discard ratio. Shared by `attn.attentionRollout` and `reference.attentionRollout`, so both
 * reject the same calls with the same messages; each path supplies only {@link TensorChecks}. Pure.
 */
import { AttentionError, describe } from '../errors';
import { checkFlag, checkObject } from './checks';
import type { Shaped } from './multi-head-config';
import type { TensorChecks } from './multi-head-options';

/** How the heads of one layer become one matrix: their mean, or the element-wise max or min. */
export type HeadFusion = 'mean' | 'max' | 'min';

/** Options of `attentionRollout`. */
export interface RolloutOptions {
  headFusion: HeadFusion;
  /** Take 0.5·Â + 0.5·I and renormalise each row (the residual connection). Default true. */
  residual?: boolean;
  /**
   * Zero the ⌊ratio·L⌋ lowest off-diagonal fused weights of each row (ties: the lower column first)
   * before the identity is added. In [0, 1); default 0.
   */
  discardRatio?: number;
}

/** Sizes of a rollout: `layers` matrices of B batches, H heads, L tokens. */
export interface RolloutDims {
  layers: number;
  B: number;
  H: number;
  L: number;
}

/** A checked call. */
export interface ValidatedRollout<T> {
  weights: T[];
  dims: RolloutDims;
  headFusion: HeadFusion;
  residual: boolean;
  discardRatio: number;
  /** ⌊discardRatio·L⌋ in float64 (Python's int(L·ratio)): entries zeroed per row. */
  discardCount: number;
}

export const HEAD_FUSIONS: readonly HeadFusion[] = ['mean', 'max', 'min'];
const KEYS = ['headFusion', 'residual', 'discardRatio'];

/** One layer: [B, H, L, L], or [B, L, L] (heads already fused: H = 1). */
function checkLayer<T extends Shaped>(
  checks: TensorChecks<T>,
  argument: string,
  value: unknown,
  first: number[] | null,
) {
  const expected = first
    ? `shape ${describe(first)}, as weights[0] (every layer the same B, H and L)`
    : 'a float tensor [B, H, L, L] (or [B, L, L]): one layer of attention weights';
  const t = checks.tensor(argument, value);
  if (checks.isBool(t)) throw new AttentionError(argument, 'a boolean tensor', expected);
  const s = t.shape;
  const square = Array.isArray(s) && (s.length === 3 || s.length === 4) && s[s.length - 1] === s[s.length - 2];
  if (!square || !s.every((d) => Number.isInteger(d) && d > 0)) {
    throw new AttentionError(argument, `shape ${describe(s)}`, expected);
  }
  if (first && (s.length !== first.length || s.some((d, i) => d !== first[i]))) {
    throw new AttentionError(argument, `shape ${describe(s)}`, expected);
  }
  checks.contents(argument, t);
  return t;
}

/**
 * Checks a rollout call: a non-empty list of layers of one shape, headFusion, residual, discardRatio.
 * @example
 * validateRolloutCall([w1, w2], { headFusion: 'mean', discardRatio: 0.9 }, checks).discardCount; // ⌊0.9·L⌋
 */
export function validateRolloutCall<T extends Shaped>(
  weights: unknown,
  options: unknown,
  checks: TensorChecks<T>,
): ValidatedRollout<T> {
  const o = checkObject('options', options, KEYS, false);
  if (!HEAD_FUSIONS.includes(o.headFusion as HeadFusion)) {
    throw new AttentionError(
      'options.headFusion',
      describe(o.headFusion),
      `one of ${HEAD_FUSIONS.map((f) => `'${f}'`).join(', ')}`,
    );
  }
  const residual = checkFlag('options.residual', o.residual, true);
  const ratio = o.discardRatio ?? 0;
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio < 1)) {
    throw new AttentionError(
      'options.discardRatio',
      describe(ratio),
      'a number in [0, 1): the fraction of each row to zero',
    );
  }
  if (!Array.isArray(weights) || weights.length === 0) {
    throw new AttentionError(
      'weights',
      describe(weights),
      'a non-empty array of tensors [B, H, L, L], one per layer, first layer first',
    );
  }
  const layers: T[] = [];
  weights.forEach((w, i) => layers.push(checkLayer(checks, `weights[${i}]`, w, i === 0 ? null : [...layers[0].shape])));
  const s = layers[0].shape;
  const dims = { layers: layers.length, B: s[0], H: s.length === 4 ? s[1] : 1, L: s[s.length - 1] };
  return {
    weights: layers,
    dims,
    headFusion: o.headFusion as HeadFusion,
    residual,
    discardRatio: ratio,
    discardCount: Math.min(Math.floor(ratio * dims.L), dims.L - 1),
  };
}
