/**
 * The Linformer contract (low-rank attention, Wang et al. 2020): keys and values are projected
 * along the sequence, k' = E·k and v' = F·v with E = projectK [r, Lk] and F = projectV [r, Lk], and
 * the call is sdpa(q, k', v') over r keys. Shared by `attn.linformer` and `reference.linformer`
 * (docs/semantics.md §15). Pure.
 */
import { AttentionError, describe } from '../errors';
import { isPositiveInt } from './checks';
import {
  validateLayout,
  validateSdpaOptions,
  validateSdpaShapes,
  type ResolvedSdpaOptions,
  type SdpaDims,
} from './sdpa';
import type { SdpaOptionsOf } from './types';

/** sdpa options that place keys by position: the r projected rows have none. */
export const POSITIONAL_OPTIONS = [
  'causal',
  'alignment',
  'window',
  'dilation',
  'globalTokens',
  'sinkTokens',
  'alibiSlopes',
] as const;

/**
 * Options of `attn.linformer` (`T` = GpuTensor, `M` = its masks) and `reference.linformer` (host
 * tensors): the projections, and the sdpa options that do not refer to key positions.
 */
export type LinformerOptionsOf<T, M> = Omit<SdpaOptionsOf<M>, (typeof POSITIONAL_OPTIONS)[number]> & {
  /** E [r, Lk]: k' = E·k, per batch and kv head. */
  projectK: T;
  /** F [r, Lk] (the same r): v' = F·v. */
  projectV: T;
  /** Refused when true: the projected rows have no order (Linformer is not causal). */
  causal?: false;
};

/** A checked call: the sizes of the projected sdpa call (its Lk is r), the keys before projection, the options. */
export interface ValidatedLinformer {
  /** The sdpa call after projection: Lk = r. */
  dims: SdpaDims;
  /** Lk of k and v, the length the projections contract. */
  keys: number;
  options: ResolvedSdpaOptions;
}

/** Why a positional option is refused. */
function positionless(key: string): string {
  return `no ${key}: the r projected rows of k and v have no positions (E·k mixes every key), so Linformer takes no causal, alignment, window, dilation, global or sink tokens, or ALiBi`;
}

/** The options object: refuses what is not one, and every positional option (causal: false is allowed). */
export function checkLinformerOptions(options: unknown): Record<string, unknown> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new AttentionError('options', describe(options), 'an object with projectK and projectV');
  }
  const o = options as Record<string, unknown>;
  for (const key of POSITIONAL_OPTIONS) {
    const value = o[key];
    if (value !== undefined && !(key === 'causal' && value === false)) {
      throw new AttentionError(`options.${key}`, describe(value), positionless(key));
    }
  }
  return o;
}

/**
 * Checks q, k, v (in the layout of options.layout), the projections' shapes [r, Lk] and the options,
 * and returns the sizes of the projected call. The mask (broadcast over [B, Hq, Lq, r]) is checked
 * by the caller with validateMaskShape(mask.shape, dims).
 * @example
 * validateLinformerCall([2, 3, 77, 40], [2, 3, 77, 40], [2, 3, 77, 24], [13, 77], [13, 77], {}).dims.Lk; // 13
 */
export function validateLinformerCall(
  qShape: readonly number[],
  kShape: readonly number[],
  vShape: readonly number[],
  projectKShape: readonly number[],
  projectVShape: readonly number[],
  options: unknown,
): ValidatedLinformer {
  const o = checkLinformerOptions(options);
  const layout = validateLayout(o.layout);
  const full = validateSdpaShapes(qShape, kShape, vShape, layout);
  const Lk = full.Lk;
  const e = projectKShape;
  if (!Array.isArray(e) || e.length !== 2 || !e.every(isPositiveInt) || e[1] !== Lk) {
    throw new AttentionError(
      'options.projectK',
      `shape ${describe(e)}`,
      `[r, ${Lk}]: r ≥ 1 rows of Lk = ${Lk} (k's keys)`,
    );
  }
  const r = e[0];
  const f = projectVShape;
  if (!Array.isArray(f) || f.length !== 2 || f[0] !== r || f[1] !== Lk) {
    throw new AttentionError('options.projectV', `shape ${describe(f)}`, `[${r}, ${Lk}]: r as projectK, Lk = ${Lk}`);
  }
  const dims = { ...full, Lk: r };
  return { dims, keys: Lk, options: validateSdpaOptions(o as SdpaOptionsOf<unknown>, dims) };
}
