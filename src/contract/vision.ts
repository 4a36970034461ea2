/**
 * The contract of attention over feature maps (docs/semantics.md, "Attention over feature maps"):
 * channel attention (squeeze-and-excitation, CBAM's channel gate), CBAM's spatial gate, and both in
 * order. Shared by `attn.channelAttention` / `attn.spatialAttention` / `attn.cbam` and their
 * reference twins, so both reject the same calls with the same messages; each path supplies only
 * {@link TensorChecks}. Pure.
 */
import { AttentionError, describe } from '../errors';
import { checkObject } from './checks';
import type { Shaped } from './multi-head-config';
import type { TensorChecks } from './multi-head-options';

/** Where channels sit: `'nchw'` [N, C, H, W] (PyTorch's default) or `'nhwc'` [N, H, W, C] (channels last). */
export type FeatureLayout = 'nchw' | 'nhwc';

/** Global pooling of the channel gate: `'avg'` (squeeze-and-excitation) or `'avg+max'` (CBAM). */
export type ChannelPooling = 'avg' | 'avg+max';

/** The channel gate's MLP: C → S = C/r → C (`nn.Linear` or 1×1 `nn.Conv2d` weights). */
export interface ChannelGateOf<T> {
  /** [S, C], or torchvision's `fc1.weight` [S, C, 1, 1]. */
  w1: T;
  /** [S]. Default none (0). */
  b1?: T;
  /** [C, S], or [C, S, 1, 1]. */
  w2: T;
  /** [C]. Default none (0). */
  b2?: T;
  /** The reduction ratio r, checked when given: it must divide C, and w1 must have C/r rows. */
  reduction?: number;
}

/** Options of `channelAttention`. */
export interface ChannelAttentionOptionsOf<T> extends ChannelGateOf<T> {
  pooling: ChannelPooling;
  /** Default `'nchw'`. */
  layout?: FeatureLayout;
}

/** CBAM's spatial gate: a k×k convolution of the [mean, max] maps to one map. */
export interface SpatialGateOf<T> {
  /** [1, 2, k, k], k odd: weight[0, 0] meets the mean map, weight[0, 1] the max map. */
  weight: T;
  /** [1]. Default none (0). */
  bias?: T;
}

/** Options of `spatialAttention`. */
export interface SpatialAttentionOptionsOf<T> extends SpatialGateOf<T> {
  layout?: FeatureLayout;
}

/** Options of `cbam`: the channel gate (pooling 'avg+max'), then the spatial gate. */
export interface CbamOptionsOf<T> {
  channel: ChannelGateOf<T>;
  spatial: SpatialGateOf<T>;
  layout?: FeatureLayout;
}

/** Sizes of a feature map: batch N, channels C, height H, width W. */
export interface FeatureDims {
  N: number;
  C: number;
  H: number;
  W: number;
}

export interface ResolvedChannelGate<T> {
  w1: T;
  b1: T | null;
  w2: T;
  b2: T | null;
  /** S, the hidden width (w1's rows). */
  hidden: number;
  pooling: ChannelPooling;
}

export interface ResolvedSpatialGate<T> {
  weight: T;
  bias: T | null;
  /** k, the odd kernel size. */
  kernel: number;
}

/** A checked call: the channel gate, the spatial gate, or both (cbam), in that order. */
export interface ValidatedVision<T> {
  x: T;
  dims: FeatureDims;
  layout: FeatureLayout;
  channel: ResolvedChannelGate<T> | null;
  spatial: ResolvedSpatialGate<T> | null;
}

export const FEATURE_LAYOUTS: readonly FeatureLayout[] = ['nchw', 'nhwc'];
export const CHANNEL_POOLINGS: readonly ChannelPooling[] = ['avg', 'avg+max'];
const GATE_KEYS = ['w1', 'b1', 'w2', 'b2', 'reduction'];
const SPATIAL_KEYS = ['weight', 'bias'];

const listOf = (names: readonly string[]) => names.map((n) => `'${n}'`).join(' or ');
const positiveInts = (s: unknown): s is number[] => Array.isArray(s) && s.every((d) => Number.isInteger(d) && d > 0);

/** A float tensor, its shape a list of positive integers; `accepts` tests it and `expected` says what fits. */
function checkWeight<T extends Shaped>(
  checks: TensorChecks<T>,
  argument: string,
  value: unknown,
  accepts: (shape: number[]) => boolean,
  expected: string,
): T {
  if (value === undefined) throw new AttentionError(argument, 'undefined', expected);
  const t = checks.tensor(argument, value);
  if (checks.isBool(t)) throw new AttentionError(argument, 'a boolean tensor', `a float tensor ${expected}`);
  if (!positiveInts(t.shape) || !accepts(t.shape))
    throw new AttentionError(argument, `shape ${describe(t.shape)}`, expected);
  checks.contents(argument, t);
  return t;
}

/** An optional float tensor of exactly `shape`; null when absent. */
function checkBias<T extends Shaped>(
  checks: TensorChecks<T>,
  argument: string,
  value: unknown,
  shape: number[],
  what: string,
) {
  if (value === undefined || value === null) return null;
  const same = (s: number[]) => s.length === shape.length && s.every((d, i) => d === shape[i]);
  return checkWeight(checks, argument, value, same, `${describe(shape)} (${what})`);
}

/** x: a float tensor of rank 4 in `layout`. */
function checkInput<T extends Shaped>(checks: TensorChecks<T>, x: unknown, layout: FeatureLayout) {
  const words = layout === 'nchw' ? '[N, C, H, W]' : '[N, H, W, C]';
  const t = checkWeight(
    checks,
    'x',
    x,
    (s) => s.length === 4,
    `a float tensor of 4 positive dims ${words} ('${layout}')`,
  );
  const [N, a, b, c] = t.shape;
  const dims = layout === 'nchw' ? { N, C: a, H: b, W: c } : { N, H: a, W: b, C: c };
  return { x: t, dims };
}

function checkLayout(value: unknown): FeatureLayout {
  if (value === undefined) return 'nchw';
  if (!FEATURE_LAYOUTS.includes(value as FeatureLayout)) {
    throw new AttentionError('options.layout', describe(value), listOf(FEATURE_LAYOUTS));
  }
  return value as FeatureLayout;
}

/** A 2-D weight [rows, cols], or the 1×1 convolution's [rows, cols, 1, 1]. */
const matrixOrConv = (rows: number | null, cols: number) => (s: number[]) =>
  (s.length === 2 || (s.length === 4 && s[2] === 1 && s[3] === 1)) && (rows === null || s[0] === rows) && s[1] === cols;

/** The channel gate's weights under `prefix` ('options' or 'options.channel'). */
function checkChannelGate<T extends Shaped>(
  checks: TensorChecks<T>,
  gate: Record<string, unknown>,
  prefix: string,
  C: number,
  pooling: ChannelPooling,
): ResolvedChannelGate<T> {
  let rows: number | null = null;
  if (gate.reduction !== undefined) {
    const r = gate.reduction;
    if (!(typeof r === 'number' && Number.isInteger(r) && r > 0 && C % r === 0)) {
      const divisors = Array.from({ length: C }, (_, i) => i + 1).filter((d) => C % d === 0);
      const shown = divisors.length > 12 ? `${divisors.slice(0, 12).join(', ')}, …` : divisors.join(', ');
      throw new AttentionError(
        `${prefix}.reduction`,
        describe(r),
        `a positive integer that divides C = ${C} (${shown})`,
      );
    }
    rows = C / r;
  }
  const what = rows === null ? `[S, ${C}] or [S, ${C}, 1, 1]` : `[${rows}, ${C}] or [${rows}, ${C}, 1, 1]`;
  const w1 = checkWeight(
    checks,
    `${prefix}.w1`,
    gate.w1,
    matrixOrConv(rows, C),
    `${what} (S = C/r hidden channels, C = ${C} from x)`,
  );
  const S = w1.shape[0];
  const w2 = checkWeight(
    checks,
    `${prefix}.w2`,
    gate.w2,
    matrixOrConv(C, S),
    `[${C}, ${S}] or [${C}, ${S}, 1, 1] ([C, S], S = ${S} from w1)`,
  );
  const b1 = checkBias(checks, `${prefix}.b1`, gate.b1, [S], 'S, from w1');
  const b2 = checkBias(checks, `${prefix}.b2`, gate.b2, [C], 'C, from x');
  return { w1, b1, w2, b2, hidden: S, pooling };
}

/** The spatial gate's weights under `prefix`. */
function checkSpatialGate<T extends Shaped>(
  checks: TensorChecks<T>,
  gate: Record<string, unknown>,
  prefix: string,
): ResolvedSpatialGate<T> {
  const expected = '[1, 2, k, k] with k odd and positive (1, 3, 5, 7, …): zero padding ⌊k/2⌋ keeps the map size';
  const square = (s: number[]) => s.length === 4 && s[0] === 1 && s[1] === 2 && s[2] === s[3] && s[2] % 2 === 1;
  const weight = checkWeight(checks, `${prefix}.weight`, gate.weight, square, expected);
  const bias = checkBias(checks, `${prefix}.bias`, gate.bias, [1], 'one output map');
  return { weight, bias, kernel: weight.shape[2] };
}

/**
 * Checks a channel-attention call: x [N, C, H, W] (or nhwc), w1 [S, C], w2 [C, S] (or their 1×1
 * convolution shapes), biases, pooling, layout.
 * @example
 * validateChannelAttentionCall(x, { w1, w2, pooling: 'avg' }, checks).channel!.hidden; // w1's rows
 */
export function validateChannelAttentionCall<T extends Shaped>(
  x: unknown,
  options: unknown,
  checks: TensorChecks<T>,
): ValidatedVision<T> {
  const o = checkObject('options', options, [...GATE_KEYS, 'pooling', 'layout'], false);
  const layout = checkLayout(o.layout);
  if (!CHANNEL_POOLINGS.includes(o.pooling as ChannelPooling)) {
    throw new AttentionError('options.pooling', describe(o.pooling), listOf(CHANNEL_POOLINGS));
  }
  const input = checkInput(checks, x, layout);
  const channel = checkChannelGate(checks, o, 'options', input.dims.C, o.pooling as ChannelPooling);
  return { ...input, layout, channel, spatial: null };
}

/**
 * Checks a spatial-attention call: x as above, weight [1, 2, k, k] with k odd, bias [1], layout.
 * @example
 * validateSpatialAttentionCall(x, { weight }, checks).spatial!.kernel; // 7 for a [1, 2, 7, 7] weight
 */
export function validateSpatialAttentionCall<T extends Shaped>(
  x: unknown,
  options: unknown,
  checks: TensorChecks<T>,
): ValidatedVision<T> {
  const o = checkObject('options', options, [...SPATIAL_KEYS, 'layout'], false);
  const layout = checkLayout(o.layout);
  const input = checkInput(checks, x, layout);
  return { ...input, layout, channel: null, spatial: checkSpatialGate(checks, o, 'options') };
}

/**
 * Checks a CBAM call: `channel` (pooling 'avg+max') and `spatial` gates, layout.
 * @example
 * const call = validateCbamCall(x, { channel: { w1, w2 }, spatial: { weight } }, checks);
 */
export function validateCbamCall<T extends Shaped>(
  x: unknown,
  options: unknown,
  checks: TensorChecks<T>,
): ValidatedVision<T> {
  const o = checkObject('options', options, ['channel', 'spatial', 'layout'], false);
  const layout = checkLayout(o.layout);
  const channelGate = checkObject('options.channel', o.channel, GATE_KEYS, false);
  const spatialGate = checkObject('options.spatial', o.spatial, SPATIAL_KEYS, false);
  const input = checkInput(checks, x, layout);
  const channel = checkChannelGate(checks, channelGate, 'options.channel', input.dims.C, 'avg+max');
  return { ...input, layout, channel, spatial: checkSpatialGate(checks, spatialGate, 'options.spatial') };
}
