/**
 * Pure validation of a multi-head-attention layer: its config and weights, then each forward call.
 * Shared by `attn.multiHeadAttention` (GPU) and `reference.multiHeadAttention` (CPU) so both reject
 * exactly the same inputs with the same messages; each path supplies only {@link TensorChecks}
 * (what counts as a tensor there). Nothing here touches a device.
 */
import { AttentionError, describe } from '../errors';
import type { Alignment, SlidingWindow } from '../types';
import {
  validateMaskShape,
  validateSdpaOptions,
  type MaskStrides,
  type ResolvedSdpaOptions,
  type SdpaDims,
} from './sdpa-validate';

/** q/k/v/o projection weights in PyTorch `nn.Linear` layout [out, in], biases [out]. */
export interface MhaSeparateWeightsOf<T> {
  q: T;
  k: T;
  v: T;
  o: T;
  qBias?: T;
  kBias?: T;
  vBias?: T;
  oBias?: T;
}

/** `torch.nn.MultiheadAttention`'s packed form: inProj rows are q, then k, then v. */
export interface MhaPackedWeightsOf<T> {
  inProj: T;
  inProjBias?: T;
  outProj: T;
  outProjBias?: T;
}

/** The weights of a layer, in either form. */
export type MhaWeightsOf<T> = MhaSeparateWeightsOf<T> | MhaPackedWeightsOf<T>;

/** Rotary position embeddings applied to q and k of each head after the projection. */
export interface RotaryOptions {
  /** Default 10000. angle = pos · base^(−2i/dim). */
  base?: number;
  /** Leading dims of each head that rotate; even, ≤ headDim. Default headDim. */
  dim?: number;
  /** false (default): GPT-NeoX half-split pairs (i, i + dim/2). true: GPT-J adjacent pairs (2i, 2i+1). */
  interleaved?: boolean;
  /** Position of token 0 (queries and keys alike). Default 0. */
  positionOffset?: number;
}

/** Configuration of a multi-head-attention layer; `T` is the tensor type of the path. */
export interface MhaConfigOf<T> {
  embedDim: number;
  numHeads: number;
  /** Key/value heads (grouped-query attention); a divisor of numHeads. Default numHeads. */
  numKvHeads?: number;
  /** Width of the key input (cross-attention). Default embedDim. */
  kdim?: number;
  /** Width of the value input (cross-attention). Default embedDim. */
  vdim?: number;
  /** Default embedDim / numHeads (which must then divide). */
  headDim?: number;
  weights: MhaWeightsOf<T>;
  rotary?: RotaryOptions;
}

/** Options of `forward`. `T`: key/value tensors, `M`: the attention mask, `P`: the key-padding mask. */
export interface MhaForwardOptionsOf<T, M = T, P = M> {
  /** [B, Lk, kdim]. Absent (with value): self-attention on the query. */
  key?: T;
  /** [B, Lk, vdim]. */
  value?: T;
  causal?: boolean;
  alignment?: Alignment;
  /** As sdpa's mask (float: added; boolean: 1 = may attend), broadcast over [B|1, numHeads|1, L|1, Lk|1]. */
  mask?: M;
  /** [B, Lk] booleans, 1 = padding = masked (PyTorch's convention). */
  keyPaddingMask?: P;
  /** Sliding window, passed to sdpa unchanged. */
  window?: SlidingWindow;
  /** Default 1/√headDim. */
  scale?: number;
  /** Also return the attention weights. */
  needWeights?: boolean;
  /** With needWeights: weights [B, L, Lk] averaged over heads (default true, as PyTorch), else [B, numHeads, L, Lk]. */
  averageHeads?: boolean;
}

/** What each path calls a tensor: the reference a host tensor, the GPU op a GpuTensor or GpuMask of its context. */
export interface TensorChecks<T extends { readonly shape: readonly number[] }> {
  /** `value` as a tensor of this path (float or boolean), or an AttentionError naming `argument`. */
  tensor(argument: string, value: unknown): T;
  /** Whether a checked tensor holds booleans rather than floats. */
  isBool(tensor: T): boolean;
  /** Called once the shape is known good: the reference checks the data length, the GPU op device limits. */
  contents(argument: string, tensor: T): void;
}

/** One projection: rows [row, row + rows) of `weight` (and `bias`), each `inDim` wide. */
export interface MhaProjection<T> {
  weight: T;
  bias?: T;
  row: number;
  rows: number;
  inDim: number;
}

/** Rotary options with defaults applied. */
export interface ResolvedRotary {
  base: number;
  dim: number;
  interleaved: boolean;
  positionOffset: number;
}

/** A checked layer config: sizes, one projection each for q, k, v, o (packed ones share a tensor), rotary. */
export interface ResolvedMhaConfig<T> {
  embedDim: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  kdim: number;
  vdim: number;
  /** Weights came as inProj/outProj: q, k and v are row ranges of one tensor. */
  packed: boolean;
  q: MhaProjection<T>;
  k: MhaProjection<T>;
  v: MhaProjection<T>;
  o: MhaProjection<T>;
  rotary: ResolvedRotary | null;
}

/** A checked forward call: inputs, attention sizes (bshd) and options, output shapes. */
export interface ValidatedMhaForward<T> {
  query: T;
  key: T;
  value: T;
  /** key and value are the query itself: one packed GEMM can make Q, K and V. */
  selfAttention: boolean;
  B: number;
  L: number;
  Lk: number;
  /** Sizes of the sdpa call on Q [B, L, numHeads, headDim], K and V [B, Lk, numKvHeads, headDim]. */
  sdpaDims: SdpaDims;
  /** Scale, causal, offset with defaults (layout 'bshd'). */
  attention: ResolvedSdpaOptions;
  /** The options to pass to sdpa as given (the mask excepted), window included. */
  sdpaOptions: Pick<MhaForwardOptionsOf<never>, 'scale' | 'causal' | 'alignment' | 'window'>;
  mask: { tensor: T; strides: MaskStrides } | null;
  keyPaddingMask: T | null;
  needWeights: boolean;
  averageHeads: boolean;
  outputShape: number[];
  /** [B, L, Lk] averaged, [B, numHeads, L, Lk] per head; null without needWeights. */
  weightsShape: number[] | null;
}

type Shaped = { readonly shape: readonly number[] };

const CONFIG_KEYS = ['embedDim', 'numHeads', 'numKvHeads', 'kdim', 'vdim', 'headDim', 'weights', 'rotary'];
const SEPARATE_KEYS = ['q', 'k', 'v', 'o', 'qBias', 'kBias', 'vBias', 'oBias'];
const PACKED_KEYS = ['inProj', 'inProjBias', 'outProj', 'outProjBias'];
const ROTARY_KEYS = ['base', 'dim', 'interleaved', 'positionOffset'];
const FORWARD_KEYS = [
  'key',
  'value',
  'causal',
  'alignment',
  'mask',
  'keyPaddingMask',
  'window',
  'scale',
  'needWeights',
  'averageHeads',
];

function checkObject(
  argument: string,
  value: unknown,
  keys: readonly string[],
  optional: boolean,
): Record<string, unknown> {
  if (value === undefined && optional) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AttentionError(argument, describe(value), optional ? 'an object or undefined' : 'an object');
  }
  for (const [key, v] of Object.entries(value)) {
    if (v !== undefined && !keys.includes(key))
      throw new AttentionError(`${argument}.${key}`, 'an unknown key', `one of ${keys.join(', ')}`);
  }
  return value as Record<string, unknown>;
}

function checkInt(argument: string, value: unknown, min: number, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new AttentionError(argument, describe(value), min > 0 ? 'a positive integer' : 'an integer ≥ 0');
  }
  return value;
}

function checkFlag(argument: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new AttentionError(argument, describe(value), 'true or false');
  return value;
}

/** A float tensor of exactly `shape`; `what` explains the shape in the message. */
function checkFloat<T extends Shaped>(
  tensors: TensorChecks<T>,
  argument: string,
  value: unknown,
  shape: number[],
  what: string,
): T {
  if (value === undefined) throw new AttentionError(argument, 'undefined', `a tensor ${describe(shape)} (${what})`);
  const t = tensors.tensor(argument, value);
  if (tensors.isBool(t))
    throw new AttentionError(argument, 'a boolean tensor', `a float tensor ${describe(shape)} (${what})`);
  const s = t.shape;
  if (!Array.isArray(s) || s.length !== shape.length || s.some((d, i) => d !== shape[i])) {
    throw new AttentionError(argument, `shape ${describe(s)}`, `${describe(shape)} (${what})`);
  }
  tensors.contents(argument, t);
  return t;
}

function checkRotary(value: unknown, headDim: number): ResolvedRotary | null {
  if (value === undefined) return null;
  const r = checkObject('config.rotary', value, ROTARY_KEYS, false);
  const base = r.base ?? 10000;
  if (typeof base !== 'number' || !Number.isFinite(base) || base <= 0) {
    throw new AttentionError('config.rotary.base', describe(base), 'a finite number > 0');
  }
  const dim = checkInt('config.rotary.dim', r.dim, 1, headDim);
  if (dim % 2 !== 0 || dim > headDim) {
    throw new AttentionError(
      'config.rotary.dim',
      describe(dim),
      `an even number ≤ headDim ${headDim} (dims rotate in pairs)`,
    );
  }
  const interleaved = checkFlag('config.rotary.interleaved', r.interleaved, false);
  const positionOffset = checkInt('config.rotary.positionOffset', r.positionOffset, 0, 0);
  return { base, dim, interleaved, positionOffset };
}

type Sizes = Omit<ResolvedMhaConfig<unknown>, 'packed' | 'q' | 'k' | 'v' | 'o' | 'rotary'>;

function checkSizes(c: Record<string, unknown>): Sizes {
  const embedDim = checkInt('config.embedDim', c.embedDim, 1);
  const numHeads = checkInt('config.numHeads', c.numHeads, 1);
  const numKvHeads = checkInt('config.numKvHeads', c.numKvHeads, 1, numHeads);
  if (numHeads % numKvHeads !== 0) {
    throw new AttentionError(
      'config.numKvHeads',
      `${numKvHeads} (numHeads ${numHeads})`,
      `a divisor of numHeads ${numHeads} (grouped-query attention)`,
    );
  }
  if (c.headDim === undefined && embedDim % numHeads !== 0) {
    throw new AttentionError(
      'config.embedDim',
      `${embedDim} with ${numHeads} heads`,
      `a multiple of numHeads ${numHeads}, or an explicit config.headDim`,
    );
  }
  const headDim = checkInt('config.headDim', c.headDim, 1, embedDim / numHeads);
  const kdim = checkInt('config.kdim', c.kdim, 1, embedDim);
  const vdim = checkInt('config.vdim', c.vdim, 1, embedDim);
  return { embedDim, numHeads, numKvHeads, headDim, kdim, vdim };
}

type Projections<T> = Pick<ResolvedMhaConfig<T>, 'packed' | 'q' | 'k' | 'v' | 'o'>;

function checkWeights<T extends Shaped>(value: unknown, s: Sizes, tensors: TensorChecks<T>): Projections<T> {
  const w = checkObject('weights', value, [...SEPARATE_KEYS, ...PACKED_KEYS], false);
  const present = (keys: string[]) => keys.filter((k) => w[k] !== undefined);
  const packed = present(PACKED_KEYS).length > 0;
  if (packed && present(SEPARATE_KEYS).length > 0) {
    throw new AttentionError(
      'weights',
      `keys ${present([...SEPARATE_KEYS, ...PACKED_KEYS]).join(', ')}`,
      'one form: { q, k, v, o, qBias?, kBias?, vBias?, oBias? } or { inProj, inProjBias?, outProj, outProjBias? }',
    );
  }
  const qRows = s.numHeads * s.headDim;
  const kvRows = s.numKvHeads * s.headDim;
  const weight = (name: string, rows: number, cols: number, what: string) =>
    checkFloat(tensors, `weights.${name}`, w[name], [rows, cols], what);
  const bias = (name: string, rows: number) =>
    w[name] === undefined ? undefined : checkFloat(tensors, `weights.${name}`, w[name], [rows], 'one per output row');
  const o = (wt: T, b: T | undefined): MhaProjection<T> => ({
    weight: wt,
    bias: b,
    row: 0,
    rows: s.embedDim,
    inDim: qRows,
  });
  if (packed) {
    if (s.kdim !== s.embedDim || s.vdim !== s.embedDim) {
      throw new AttentionError(
        'weights.inProj',
        `the packed form with kdim ${s.kdim}, vdim ${s.vdim}`,
        `separate weights q, k, v, o when kdim or vdim differs from embedDim ${s.embedDim}`,
      );
    }
    const inRows = qRows + 2 * kvRows;
    const inProj = weight(
      'inProj',
      inRows,
      s.embedDim,
      '(numHeads + 2·numKvHeads)·headDim rows: q, then k, then v; embedDim columns',
    );
    const inBias = bias('inProjBias', inRows);
    const outProj = weight('outProj', s.embedDim, qRows, '[embedDim, numHeads·headDim]');
    const part = (row: number, rows: number): MhaProjection<T> => ({
      weight: inProj,
      bias: inBias,
      row,
      rows,
      inDim: s.embedDim,
    });
    return {
      packed,
      q: part(0, qRows),
      k: part(qRows, kvRows),
      v: part(qRows + kvRows, kvRows),
      o: o(outProj, bias('outProjBias', s.embedDim)),
    };
  }
  const sep = (name: string, rows: number, inDim: number, what: string): MhaProjection<T> => ({
    weight: weight(name, rows, inDim, what),
    bias: bias(`${name}Bias`, rows),
    row: 0,
    rows,
    inDim,
  });
  return {
    packed,
    q: sep('q', qRows, s.embedDim, '[numHeads·headDim, embedDim]'),
    k: sep('k', kvRows, s.kdim, '[numKvHeads·headDim, kdim]'),
    v: sep('v', kvRows, s.vdim, '[numKvHeads·headDim, vdim]'),
    o: o(weight('o', s.embedDim, qRows, '[embedDim, numHeads·headDim]'), bias('oBias', s.embedDim)),
  };
}

/**
 * Checks a layer config and its weights; returns sizes with defaults and the four projections.
 * @example
 * const c = validateMhaConfig({ embedDim: 8, numHeads: 2, weights: { q, k, v, o } }, hostChecks);
 * c.headDim; // 4
 */
export function validateMhaConfig<T extends Shaped>(config: unknown, tensors: TensorChecks<T>): ResolvedMhaConfig<T> {
  const c = checkObject('config', config, CONFIG_KEYS, false);
  const sizes = checkSizes(c);
  const rotary = checkRotary(c.rotary, sizes.headDim);
  return { ...sizes, ...checkWeights(c.weights, sizes, tensors), rotary };
}

/** A float [B, L, width] input. */
function checkInput<T extends Shaped>(
  tensors: TensorChecks<T>,
  argument: string,
  value: unknown,
  width: number,
  widthName: string,
): T {
  const t = tensors.tensor(argument, value);
  const s = t.shape;
  const what = `[B, L, ${widthName}] = [B, L, ${width}]`;
  if (tensors.isBool(t)) throw new AttentionError(argument, 'a boolean tensor', `a float tensor ${what}`);
  const ok = Array.isArray(s) && s.length === 3 && s.every((d) => Number.isInteger(d) && d > 0);
  if (!ok) throw new AttentionError(argument, `shape ${describe(s)}`, `3 positive integers ${what} (batch first)`);
  if (s[2] !== width)
    throw new AttentionError(
      argument,
      `width ${s[2]} (shape ${describe(s)})`,
      `width ${widthName} = ${width}: ${what}`,
    );
  tensors.contents(argument, t);
  return t;
}

/** Key and value: both given (cross-attention) or neither (self-attention on the query). */
function checkKeyValue<T extends Shaped>(
  c: ResolvedMhaConfig<T>,
  query: T,
  o: Record<string, unknown>,
  tensors: TensorChecks<T>,
): [T, T] {
  if (o.key === undefined && o.value === undefined) {
    if (c.kdim !== c.embedDim || c.vdim !== c.embedDim) {
      throw new AttentionError(
        'options.key',
        'undefined (self-attention)',
        `key [B, Lk, ${c.kdim}] and value [B, Lk, ${c.vdim}]: kdim/vdim differ from embedDim ${c.embedDim}`,
      );
    }
    return [query, query];
  }
  if (o.key === undefined)
    throw new AttentionError('options.key', 'undefined with options.value given', `a key tensor [B, Lk, ${c.kdim}]`);
  if (o.value === undefined)
    throw new AttentionError('options.value', 'undefined with options.key given', `a value tensor [B, Lk, ${c.vdim}]`);
  const key = checkInput(tensors, 'options.key', o.key, c.kdim, 'kdim');
  const value = checkInput(tensors, 'options.value', o.value, c.vdim, 'vdim');
  const [B, Lk] = [query.shape[0], key.shape[1]];
  if (key.shape[0] !== B)
    throw new AttentionError(
      'options.key',
      `batch ${key.shape[0]} (shape ${describe(key.shape)})`,
      `batch ${B}, as the query`,
    );
  if (value.shape[0] !== B)
    throw new AttentionError(
      'options.value',
      `batch ${value.shape[0]} (shape ${describe(value.shape)})`,
      `batch ${B}, as the query`,
    );
  if (value.shape[1] !== Lk)
    throw new AttentionError(
      'options.value',
      `${value.shape[1]} keys (shape ${describe(value.shape)})`,
      `${Lk} keys, as options.key`,
    );
  return [key, value];
}

function checkPadding<T extends Shaped>(value: unknown, B: number, Lk: number, tensors: TensorChecks<T>): T | null {
  if (value === undefined) return null;
  const argument = 'options.keyPaddingMask';
  const t = tensors.tensor(argument, value);
  const expected = `booleans [B, Lk] = [${B}, ${Lk}], 1 = padding (a Uint8Array host tensor or a GpuMask)`;
  if (!tensors.isBool(t)) throw new AttentionError(argument, 'a float tensor', expected);
  const s = t.shape;
  if (!Array.isArray(s) || s.length !== 2 || s[0] !== B || s[1] !== Lk)
    throw new AttentionError(argument, `shape ${describe(s)}`, expected);
  tensors.contents(argument, t);
  return t;
}

/**
 * Checks one forward call against a checked config: `x` is the query [B, L, embedDim].
 * @example
 * const call = validateMhaForward(config, x, { keyPaddingMask }, hostChecks);
 * call.outputShape; // [B, L, embedDim]
 */
export function validateMhaForward<T extends Shaped>(
  c: ResolvedMhaConfig<T>,
  x: unknown,
  options: unknown,
  tensors: TensorChecks<T>,
): ValidatedMhaForward<T> {
  const query = checkInput(tensors, 'x', x, c.embedDim, 'embedDim');
  const o = checkObject('options', options, FORWARD_KEYS, true);
  const [key, value] = checkKeyValue(c, query, o, tensors);
  const [B, L, Lk] = [query.shape[0], query.shape[1], key.shape[1]];
  const sdpaDims: SdpaDims = { B, Hq: c.numHeads, Hkv: c.numKvHeads, Lq: L, Lk, D: c.headDim, Dv: c.headDim };
  const sdpaOptions = {
    scale: o.scale,
    causal: o.causal,
    alignment: o.alignment,
    window: o.window,
  } as ValidatedMhaForward<T>['sdpaOptions'];
  const attention = validateSdpaOptions({ ...sdpaOptions, layout: 'bshd' }, sdpaDims);
  let mask: ValidatedMhaForward<T>['mask'] = null;
  if (o.mask !== undefined) {
    const tensor = tensors.tensor('options.mask', o.mask);
    mask = { tensor, strides: validateMaskShape(tensor.shape, sdpaDims) };
    tensors.contents('options.mask', tensor);
  }
  const keyPaddingMask = checkPadding(o.keyPaddingMask, B, Lk, tensors);
  const needWeights = checkFlag('options.needWeights', o.needWeights, false);
  const averageHeads = checkFlag('options.averageHeads', o.averageHeads, true);
  const weightsShape = !needWeights ? null : averageHeads ? [B, L, Lk] : [B, c.numHeads, L, Lk];
  return {
    query,
    key,
    value,
    selfAttention: key === query && value === query,
    B,
    L,
    Lk,
    sdpaDims,
    attention,
    sdpaOptions,
    mask,
    keyPaddingMask,
    needWeights,
    averageHeads,
    outputShape: [B, L, c.embedDim],
    weightsShape,
  };
}
