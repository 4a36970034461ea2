/**
 * The scaled-dot-product-attention contract: shapes, options with their defaults, and the mask's
 * broadcasting rule. The CPU reference and the GPU ops both validate with it, so they reject exactly
 * the same calls with the same messages (docs/semantics.md). Nothing here touches a device.
 */
import { AttentionError, describe } from '../errors';
import { checkFactor, checkFlag, F32_MAX, isPositiveInt } from './checks';
import type { Alignment, Layout, SdpaOptionsOf } from './types';
import { validateModifiers, type ResolvedModifiers } from './modifiers';
import { validateVariants, type ResolvedVariants } from './variants';
import { validateWindow, type ResolvedWindow } from './window';

/** Sizes of one sdpa call, whatever the layout. */
export interface SdpaDims {
  B: number;
  Hq: number;
  Hkv: number;
  Lq: number;
  Lk: number;
  D: number;
  Dv: number;
}

/** Options with defaults applied: what a kernel (or the reference) actually needs. */
export interface ResolvedSdpaOptions {
  scale: number;
  /** 0 = off. */
  softcap: number;
  causal: boolean;
  /** Query i sits at key position i + offset (0 upper-left, Lk − Lq lower-right). */
  offset: number;
  layout: Layout;
  returnLse: boolean;
  /** Sliding window, dilation, global tokens and sink tokens (NO_WINDOW when none is asked for). */
  window: ResolvedWindow;
  /** ALiBi slopes and learned sinks, per query head (null when absent). */
  modifiers: ResolvedModifiers;
  /** Sigmoid normalisation, top-k, block mask (NO_VARIANTS when none is asked for). */
  variants: ResolvedVariants;
}

/** Element strides of a broadcast mask over [b, h, i, j]; 0 where the mask broadcasts. */
export interface MaskStrides {
  b: number;
  h: number;
  i: number;
  j: number;
}

const LAYOUTS: readonly Layout[] = ['bhsd', 'bshd'];
const ALIGNMENTS: readonly Alignment[] = ['upper-left', 'lower-right'];

/** Checks that `shape` is a list of `rank` positive integers; the message names `argument`. */
function checkShape(argument: string, shape: unknown, rank: number, words: string): number[] {
  if (!Array.isArray(shape) || shape.length !== rank || !shape.every(isPositiveInt)) {
    throw new AttentionError(argument, `shape ${describe(shape)}`, `${rank} positive integers ${words}`);
  }
  return shape as number[];
}

/** Checks the layout option alone: the shapes cannot be read before it is known. */
export function validateLayout(layout: unknown): Layout {
  if (layout === undefined) return 'bhsd';
  if (!LAYOUTS.includes(layout as Layout)) {
    throw new AttentionError('options.layout', describe(layout), `one of ${LAYOUTS.map((l) => `'${l}'`).join(', ')}`);
  }
  return layout as Layout;
}

/**
 * Checks q, k, v shapes against each other and returns the sizes.
 * @example
 * validateSdpaShapes([1, 4, 7, 8], [1, 2, 9, 8], [1, 2, 9, 16], 'bhsd');
 * // { B: 1, Hq: 4, Hkv: 2, Lq: 7, Lk: 9, D: 8, Dv: 16 }
 */
export function validateSdpaShapes(
  qShape: readonly number[],
  kShape: readonly number[],
  vShape: readonly number[],
  layout: Layout = 'bhsd',
): SdpaDims {
  const words = layout === 'bshd' ? '[B, L, H, D] (layout bshd)' : '[B, H, L, D] (layout bhsd)';
  const q = checkShape('q', qShape, 4, words);
  const k = checkShape('k', kShape, 4, words);
  const v = checkShape('v', vShape, 4, words);
  // Both layouts keep B first and the head dim last; only H and L swap places.
  const [hAt, lAt] = layout === 'bshd' ? [2, 1] : [1, 2];
  const dims: SdpaDims = { B: q[0], Hq: q[hAt], Hkv: k[hAt], Lq: q[lAt], Lk: k[lAt], D: q[3], Dv: v[3] };
  if (k[0] !== dims.B) throw new AttentionError('k', `batch ${k[0]} (shape ${describe(k)})`, `batch ${dims.B}, as q`);
  if (v[0] !== dims.B) throw new AttentionError('v', `batch ${v[0]} (shape ${describe(v)})`, `batch ${dims.B}, as q`);
  if (k[3] !== dims.D)
    throw new AttentionError('k', `head dim ${k[3]} (shape ${describe(k)})`, `head dim ${dims.D}, as q`);
  if (v[hAt] !== dims.Hkv) {
    throw new AttentionError(
      'v',
      `${v[hAt]} heads (shape ${describe(v)}, layout ${layout})`,
      `${dims.Hkv} heads, as k`,
    );
  }
  if (v[lAt] !== dims.Lk) {
    throw new AttentionError('v', `${v[lAt]} keys (shape ${describe(v)}, layout ${layout})`, `${dims.Lk} keys, as k`);
  }
  if (dims.Hq % dims.Hkv !== 0) {
    throw new AttentionError(
      'k',
      `${dims.Hkv} kv heads for ${dims.Hq} query heads`,
      `a divisor of ${dims.Hq} (grouped-query attention)`,
    );
  }
  return dims;
}

/**
 * Checks the scalar options and applies the defaults (the mask is checked by
 * {@link validateMaskShape}, since its type differs between the GPU and the reference).
 * @example
 * validateSdpaOptions({ causal: true, alignment: 'lower-right' }, dims).offset; // dims.Lk - dims.Lq
 */
export function validateSdpaOptions(options: SdpaOptionsOf<unknown> | undefined, dims: SdpaDims): ResolvedSdpaOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new AttentionError('options', describe(options), 'an object or undefined');
  }
  const o = options ?? {};
  const layout = validateLayout(o.layout);
  const scale = checkFactor('options.scale', o.scale) ?? 1 / Math.sqrt(dims.D);
  const softcap = checkFactor('options.softcap', o.softcap, true) ?? 0;
  if (softcap > 0 && scale / softcap > F32_MAX) {
    // The kernels scale q·k by scale / softcap before the tanh: it must be a float32 too.
    throw new AttentionError('options.softcap', describe(softcap), `at least scale / ${F32_MAX} = ${scale / F32_MAX}`);
  }
  const causal = checkFlag('options.causal', o.causal);
  const returnLse = checkFlag('options.returnLse', o.returnLse);
  const alignment = o.alignment === undefined ? 'upper-left' : o.alignment;
  if (!ALIGNMENTS.includes(alignment)) {
    throw new AttentionError(
      'options.alignment',
      describe(alignment),
      `one of ${ALIGNMENTS.map((a) => `'${a}'`).join(', ')}`,
    );
  }
  // Lower-right may be negative (Lk < Lq): the first Lq − Lk rows then see no key and output zeros.
  const offset = alignment === 'lower-right' ? dims.Lk - dims.Lq : 0;
  const window = validateWindow(o.window, o.dilation, o.globalTokens, dims, o.sinkTokens);
  const modifiers = validateModifiers(o, dims.Hq);
  const variants = validateVariants(o, dims);
  return { scale, softcap, causal, offset, layout, returnLse, window, modifiers, variants };
}

/**
 * Checks a mask shape (rank 2–4, right-aligned against [B, Hq, Lq, Lk], each dim 1 or the full
 * size) and returns its element strides over [b, h, i, j], 0 where it broadcasts.
 * @example
 * validateMaskShape([2, 1, 1, 40], { B: 2, Hq: 4, Hkv: 1, Lq: 20, Lk: 40, D: 8, Dv: 8 });
 * // { b: 40, h: 0, i: 0, j: 1 }
 */
export function validateMaskShape(maskShape: readonly number[], dims: SdpaDims): MaskStrides {
  const full = [dims.B, dims.Hq, dims.Lq, dims.Lk];
  const expected = `rank 2 to 4, right-aligned against [B, Hq, Lq, Lk] = ${describe(full)}, each dim 1 or the full size`;
  if (!Array.isArray(maskShape) || maskShape.length < 2 || maskShape.length > 4 || !maskShape.every(isPositiveInt)) {
    throw new AttentionError('options.mask', `shape ${describe(maskShape)}`, expected);
  }
  const padded = [...Array(4 - maskShape.length).fill(1), ...maskShape] as number[];
  const strides = [0, 0, 0, 0];
  let stride = 1;
  for (let a = 3; a >= 0; a--) {
    if (padded[a] !== 1 && padded[a] !== full[a]) {
      throw new AttentionError(
        'options.mask',
        `shape ${describe(maskShape)} (dim ${padded[a]} against ${full[a]})`,
        expected,
      );
    }
    strides[a] = padded[a] === 1 ? 0 : stride;
    stride *= padded[a];
  }
  return { b: strides[0], h: strides[1], i: strides[2], j: strides[3] };
}
