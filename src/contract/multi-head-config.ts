/**
 * Validation of a multi-head-attention layer's config and weights (each forward call: see
 * multi-head-forward.ts).
 * Shared by `attn.multiHeadAttention` (GPU) and `reference.multiHeadAttention` (CPU) so both reject
 * exactly the same inputs with the same messages; each path supplies only {@link TensorChecks}
 * (what counts as a tensor there). Nothing here touches a device.
 */
import { AttentionError, describe } from '../errors';
import { checkFlag, checkInt, checkObject } from './checks';
import type { MhaProjection, ResolvedMhaConfig, ResolvedRotary, TensorChecks } from './multi-head-options';

/** Anything with a shape: a GpuTensor, a GpuMask or a host tensor. */
export type Shaped = { readonly shape: readonly number[] };

const CONFIG_KEYS = ['embedDim', 'numHeads', 'numKvHeads', 'kdim', 'vdim', 'headDim', 'weights', 'rotary'];
const SEPARATE_KEYS = ['q', 'k', 'v', 'o', 'qBias', 'kBias', 'vBias', 'oBias'];
const PACKED_KEYS = ['inProj', 'inProjBias', 'outProj', 'outProjBias'];
const ROTARY_KEYS = ['base', 'dim', 'interleaved', 'positionOffset'];

/** A float tensor of exactly `shape`; `what` explains the shape in the message. */
export function checkFloat<T extends Shaped>(
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
