/**
 * The neighbourhood-attention contract (NATTEN semantics, docs/semantics.md): validation of a call,
 * shared by the GPU operations and the CPU reference so both reject exactly the same calls with the
 * same messages, and the rule itself ({@link axisWindow}). A 1-D call is checked in its own words
 * (L, `bhsd`) and resolved to the 2-D form with Y = 1, ky = 1, dy = 1.
 */
import { AttentionError, describe } from '../errors';
import { checkFactor, isPositiveInt } from './checks';
import type { NeighborhoodLayout2d } from './neighborhood-options';
import type { Layout } from './types';

/** Sizes of one call, 2-D form (a 1-D call has Y = 1, X = L). */
export interface NeighborhoodDims {
  B: number;
  Hq: number;
  Hkv: number;
  Y: number;
  X: number;
  D: number;
  Dv: number;
}

/** Options with defaults applied, per axis [y, x]. */
export interface ResolvedNeighborhood {
  kernel: [number, number];
  dilation: [number, number];
  causal: [boolean, boolean];
  scale: number;
  /** The 2-D layout (a 1-D `bhsd` call is `bhyxd` with Y = 1, `bshd` is `byxhd`). */
  layout: NeighborhoodLayout2d;
}

/** The shapes of a call; `rpb` is absent when the option is. */
export interface NeighborhoodShapes {
  q: readonly number[];
  k: readonly number[];
  v: readonly number[];
  rpb?: readonly number[];
}

export interface ValidatedNeighborhood {
  dims: NeighborhoodDims;
  options: ResolvedNeighborhood;
  outputShape: number[];
}

/** Where B, H, Y, X and the head dim sit in a shape (y = -1: the 1-D form, no Y axis). */
interface Axes {
  b: number;
  h: number;
  y: number;
  x: number;
  d: number;
  words: string;
}

const AXES: Record<NeighborhoodLayout2d | Layout, Axes> = {
  bhyxd: { b: 0, h: 1, y: 2, x: 3, d: 4, words: '[B, H, Y, X, D] (layout bhyxd)' },
  byxhd: { b: 0, y: 1, x: 2, h: 3, d: 4, words: '[B, Y, X, H, D] (layout byxhd)' },
  bhsd: { b: 0, h: 1, y: -1, x: 2, d: 3, words: '[B, H, L, D] (layout bhsd)' },
  bshd: { b: 0, y: -1, x: 1, h: 2, d: 3, words: '[B, L, H, D] (layout bshd)' },
};
const LAYOUTS_2D: readonly NeighborhoodLayout2d[] = ['bhyxd', 'byxhd'];
const LAYOUTS_1D: readonly Layout[] = ['bhsd', 'bshd'];

/**
 * Checks that the options are an object with a kernel, and returns it (the caller reads `rpb` from it).
 * @example
 * checkNeighborhoodOptions({ kernel: 3 }).kernel; // 3
 */
export function checkNeighborhoodOptions(options: unknown): Record<string, unknown> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new AttentionError('options', describe(options), 'an object with at least { kernel }');
  }
  return options as Record<string, unknown>;
}

function checkLayout(rank: 1 | 2, layout: unknown): NeighborhoodLayout2d | Layout {
  const allowed: readonly string[] = rank === 2 ? LAYOUTS_2D : LAYOUTS_1D;
  if (layout === undefined) return allowed[0] as NeighborhoodLayout2d | Layout;
  if (!allowed.includes(layout as string)) {
    throw new AttentionError('options.layout', describe(layout), `one of ${allowed.map((l) => `'${l}'`).join(', ')}`);
  }
  return layout as NeighborhoodLayout2d | Layout;
}

function checkShape(argument: string, shape: readonly number[], axes: Axes): readonly number[] {
  const rank = axes.y < 0 ? 4 : 5;
  if (!Array.isArray(shape) || shape.length !== rank || !shape.every(isPositiveInt)) {
    throw new AttentionError(argument, `shape ${describe(shape)}`, `${rank} positive integers ${axes.words}`);
  }
  return shape;
}

/** Reads B, H, Y, X, D of a shape. */
function sizes(shape: readonly number[], a: Axes) {
  return { b: shape[a.b], h: shape[a.h], y: a.y < 0 ? 1 : shape[a.y], x: shape[a.x], d: shape[a.d] };
}

function mapWords(s: { y: number; x: number }, a: Axes): string {
  return a.y < 0 ? `length ${s.x}` : `map ${s.y}×${s.x}`;
}

/** Checks q, k, v against each other; returns the sizes in the 2-D form. */
function checkShapes(shapes: NeighborhoodShapes, a: Axes): NeighborhoodDims {
  const q = sizes(checkShape('q', shapes.q, a), a);
  const k = sizes(checkShape('k', shapes.k, a), a);
  const v = sizes(checkShape('v', shapes.v, a), a);
  for (const [name, s, t] of [
    ['k', k, shapes.k],
    ['v', v, shapes.v],
  ] as const) {
    if (s.b !== q.b) throw new AttentionError(name, `batch ${s.b} (shape ${describe(t)})`, `batch ${q.b}, as q`);
    if (s.y !== q.y || s.x !== q.x)
      throw new AttentionError(name, `${mapWords(s, a)} (shape ${describe(t)})`, `${mapWords(q, a)}, as q`);
  }
  if (k.d !== q.d)
    throw new AttentionError('k', `head dim ${k.d} (shape ${describe(shapes.k)})`, `head dim ${q.d}, as q`);
  if (v.h !== k.h) throw new AttentionError('v', `${v.h} heads (shape ${describe(shapes.v)})`, `${k.h} heads, as k`);
  if (q.h % k.h !== 0)
    throw new AttentionError(
      'k',
      `${k.h} kv heads for ${q.h} query heads`,
      `a divisor of ${q.h} (grouped-query attention)`,
    );
  return { B: q.b, Hq: q.h, Hkv: k.h, Y: q.y, X: q.x, D: q.d, Dv: v.d };
}

/** A value for both axes or (2-D) a pair; `check` validates one entry. A 1-D call's y axis gets `fallback`. */
function perAxis<T>(
  rank: 1 | 2,
  value: unknown,
  fallback: T,
  check: (x: unknown) => x is T,
  argument: string,
  expected: string,
): [T, T] {
  if (value === undefined) return [fallback, fallback];
  if (check(value)) return [rank === 2 ? value : fallback, value];
  if (rank === 2 && Array.isArray(value) && value.length === 2 && value.every(check)) return [value[0], value[1]];
  throw new AttentionError(argument, describe(value), rank === 2 ? `${expected}, or a pair [y, x] of them` : expected);
}

const isOddPositive = (x: unknown): x is number => isPositiveInt(x) && x % 2 === 1;
const isBool = (x: unknown): x is boolean => typeof x === 'boolean';

function checkWindow(rank: 1 | 2, o: Record<string, unknown>, dims: NeighborhoodDims) {
  if (o.kernel === undefined)
    throw new AttentionError('options.kernel', 'undefined', 'an odd integer ≥ 1 (the window size)');
  const kernel = perAxis(rank, o.kernel, 1, isOddPositive, 'options.kernel', 'an odd integer ≥ 1');
  const dilation = perAxis(rank, o.dilation, 1, isPositiveInt, 'options.dilation', 'an integer ≥ 1');
  const causal = perAxis(rank, o.causal, false, isBool, 'options.causal', 'true or false');
  (rank === 2 ? [0, 1] : [1]).forEach((axis) => {
    const n = axis === 0 ? dims.Y : dims.X;
    const axisName = rank === 1 ? 'sequence' : axis === 0 ? 'y axis' : 'x axis';
    const [k, d] = [kernel[axis], dilation[axis]];
    if (k * d > n) {
      throw new AttentionError(
        'options.kernel',
        `kernel ${k} with dilation ${d} on the ${axisName} of length ${n} (kernel·dilation = ${k * d})`,
        `kernel·dilation ≤ ${n}, the ${axisName}'s length`,
      );
    }
  });
  return { kernel, dilation, causal };
}

function checkScale(scale: unknown, D: number): number {
  return checkFactor('options.scale', scale) ?? 1 / Math.sqrt(D);
}

/** The rpb shape a call expects: [Hq, 2ky−1, 2kx−1] (2-D) or [Hq, 2k−1] (1-D). */
export function expectedRpbShape(rank: 1 | 2, Hq: number, kernel: [number, number]): number[] {
  return rank === 2 ? [Hq, 2 * kernel[0] - 1, 2 * kernel[1] - 1] : [Hq, 2 * kernel[1] - 1];
}

/**
 * Checks a whole call (shapes and options, `options` already checked to be an object) and returns
 * the sizes and options in the 2-D form, plus the output shape in the caller's layout.
 * @example
 * validateNeighborhood(1, { q: [1, 2, 9, 8], k: [1, 2, 9, 8], v: [1, 2, 9, 4] }, { kernel: 3, dilation: 2 });
 * // dims { B: 1, Hq: 2, Hkv: 2, Y: 1, X: 9, D: 8, Dv: 4 }, options.kernel [1, 3], dilation [1, 2]
 */
export function validateNeighborhood(
  rank: 1 | 2,
  shapes: NeighborhoodShapes,
  o: Record<string, unknown>,
): ValidatedNeighborhood {
  const layout = checkLayout(rank, o.layout);
  const axes = AXES[layout];
  const dims = checkShapes(shapes, axes);
  const window = checkWindow(rank, o, dims);
  const scale = checkScale(o.scale, dims.D);
  if (shapes.rpb !== undefined) {
    const want = expectedRpbShape(rank, dims.Hq, window.kernel);
    const got = shapes.rpb;
    if (got.length !== want.length || got.some((s, i) => s !== want[i])) {
      throw new AttentionError(
        'options.rpb',
        `shape ${describe(got)}`,
        `shape ${describe(want)} (${rank === 2 ? '[Hq, 2ky−1, 2kx−1]' : '[Hq, 2k−1]'})`,
      );
    }
  }
  const layout2d: NeighborhoodLayout2d = layout === 'bshd' || layout === 'byxhd' ? 'byxhd' : 'bhyxd';
  const outputShape = [...shapes.q];
  outputShape[axes.h] = dims.Hq;
  outputShape[axes.d] = dims.Dv;
  return { dims, options: { ...window, scale, layout: layout2d }, outputShape };
}

/** Element strides (b, h, y, x) of a [B, H, Y, X, dim] tensor stored in `layout`; the head dim's stride is 1. */
export function neighborhoodStrides(
  layout: NeighborhoodLayout2d,
  H: number,
  Y: number,
  X: number,
  dim: number,
): [number, number, number, number] {
  return layout === 'byxhd'
    ? [Y * X * H * dim, dim, X * H * dim, H * dim]
    : [H * Y * X * dim, Y * X * dim, X * dim, dim];
}

/**
 * The key positions query position `i` sees along one axis of length `n` (kernel k odd, dilation d):
 * in its dilation group g = i mod d (n_g = ceil((n − g)/d) positions, group index m), keys
 * t = clamp(m − (k−1)/2, 0, n_g − k) … + k − 1, or t = max(m − k + 1, 0) … m when causal; j = g + t·d.
 * The 2-D neighbourhood is the product of both axes' windows.
 * @example
 * axisWindow(0, 9, 3, 2, false); // [0, 2, 4]
 * axisWindow(8, 9, 3, 2, false); // [4, 6, 8]
 */
export function axisWindow(i: number, n: number, k: number, d: number, causal: boolean): number[] {
  const g = i % d;
  const m = (i - g) / d;
  const groupLength = Math.ceil((n - g) / d);
  const first = causal ? Math.max(m - k + 1, 0) : Math.min(Math.max(m - (k - 1) / 2, 0), groupLength - k);
  const last = causal ? m : first + k - 1;
  const keys: number[] = [];
  for (let t = first; t <= last; t++) keys.push(g + t * d);
  return keys;
}
