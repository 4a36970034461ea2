/**
 * Variations of scaled-dot-product attention (docs/semantics.md §6b): sigmoid attention (weights
 * sigmoid(s + b), no normalisation over keys), top-k attention (softmax over the k highest logits of
 * each query; k = 1 is hard attention), and block-sparse attention (a boolean mask over blocks of
 * queries × keys, FlexAttention's BlockMask; blocks that are off are never computed). Pure: the
 * reference and the GPU ops both resolve their options here.
 */
import { AttentionError, describe } from '../errors';
import { checkObject, F32_MAX, isPositiveInt } from './checks';

/** How a row's logits become weights. */
export type Normalization = 'softmax' | 'sigmoid';

/** The block mask as given: a host boolean tensor over [B|1, Hq|1, ⌈Lq/bq⌉, ⌈Lk/bk⌉] and the block size. */
export interface BlockMask {
  mask: { data: Uint8Array | readonly (number | boolean)[]; shape: readonly number[] };
  /** [bq, bk]: queries and keys per block. */
  blockSize: readonly [number, number] | readonly number[];
}

/** A checked block mask: one byte per block (1 = on), its shape padded to 4 dims, and element strides. */
export interface ResolvedBlockMask {
  /** [B|1, Hq|1, qBlocks, kBlocks]. */
  shape: [number, number, number, number];
  on: Uint8Array;
  /** Strides of [b, h] over `on`; 0 where the mask broadcasts. */
  strideB: number;
  strideH: number;
  bq: number;
  bk: number;
  qBlocks: number;
  kBlocks: number;
}

export interface ResolvedVariants {
  normalization: Normalization;
  /** b of sigmoid(s + b); default −ln Lk (0 when Lk = 0, and with softmax, which has none). */
  sigmoidBias: number;
  /** Keys kept per query (0: all). */
  topK: number;
  blockMask: ResolvedBlockMask | null;
}

export const NO_VARIANTS: ResolvedVariants = { normalization: 'softmax', sigmoidBias: 0, topK: 0, blockMask: null };

/** Whether block (qb, kb) of batch b, query head h is on. */
export function blockOn(m: ResolvedBlockMask, b: number, h: number, qb: number, kb: number): boolean {
  return m.on[b * m.strideB + h * m.strideH + qb * m.kBlocks + kb] !== 0;
}

function checkBlockMask(value: unknown, dims: { B: number; Hq: number; Lq: number; Lk: number }): ResolvedBlockMask {
  const o = checkObject('options.blockMask', value, ['mask', 'blockSize'], false);
  const size = o.blockSize;
  if (!Array.isArray(size) || size.length !== 2 || !size.every(isPositiveInt)) {
    throw new AttentionError('options.blockMask.blockSize', describe(size), '[bq, bk]: two positive integers');
  }
  const [bq, bk] = size as number[];
  const qBlocks = Math.ceil(dims.Lq / bq);
  const kBlocks = Math.ceil(dims.Lk / bk);
  const expected = `[B|1, Hq|1, ⌈Lq/bq⌉, ⌈Lk/bk⌉] = [${dims.B}|1, ${dims.Hq}|1, ${qBlocks}, ${kBlocks}]`;
  const m = o.mask as { data?: unknown; shape?: unknown } | undefined;
  const shape = m?.shape;
  const shapeOk =
    Array.isArray(shape) &&
    shape.length === 4 &&
    shape.every(isPositiveInt) &&
    (shape[0] === 1 || shape[0] === dims.B) &&
    (shape[1] === 1 || shape[1] === dims.Hq) &&
    shape[2] === qBlocks &&
    shape[3] === kBlocks;
  if (!shapeOk) throw new AttentionError('options.blockMask.mask', `shape ${describe(shape)}`, expected);
  const data = m!.data;
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  const isData = data instanceof Uint8Array || Array.isArray(data);
  if (!isData || (data as ArrayLike<unknown>).length !== count) {
    const got = isData ? `${(data as ArrayLike<unknown>).length} values` : describe(data);
    throw new AttentionError('options.blockMask.mask', got, `${count} booleans (a Uint8Array, or 0/1 or true/false)`);
  }
  const on = Uint8Array.from(data as ArrayLike<number | boolean>, (x) => (x ? 1 : 0));
  const [mb, mh] = shape as number[];
  const plane = qBlocks * kBlocks;
  return {
    shape: shape as [number, number, number, number],
    on,
    strideB: mb === 1 ? 0 : mh * plane,
    strideH: mh === 1 ? 0 : plane,
    ...{ bq, bk, qBlocks, kBlocks },
  };
}

/**
 * Checks `normalization`, `sigmoidBias`, `topK` and `blockMask` against the call's sizes and the
 * options they exclude (sigmoid has no denominator: no sinks, no lse, no top-k).
 * @example
 * validateVariants({ normalization: 'sigmoid' }, dims).sigmoidBias; // −ln Lk
 */
export function validateVariants(
  o: {
    normalization?: unknown;
    sigmoidBias?: unknown;
    topK?: unknown;
    blockMask?: unknown;
    sinks?: unknown;
    returnLse?: unknown;
  },
  dims: { B: number; Hq: number; Lq: number; Lk: number },
): ResolvedVariants {
  const normalization = o.normalization ?? 'softmax';
  if (normalization !== 'softmax' && normalization !== 'sigmoid') {
    throw new AttentionError('options.normalization', describe(normalization), "'softmax' (default) or 'sigmoid'");
  }
  const sigmoid = normalization === 'sigmoid';
  if (o.sigmoidBias !== undefined) {
    const b = o.sigmoidBias;
    if (!sigmoid)
      throw new AttentionError('options.sigmoidBias', describe(b), "absent without normalization: 'sigmoid'");
    if (typeof b !== 'number' || !(Math.abs(b) <= F32_MAX)) {
      throw new AttentionError('options.sigmoidBias', describe(b), 'a finite number that float32 can hold');
    }
  }
  const defaultBias = sigmoid && dims.Lk > 0 ? -Math.log(dims.Lk) : 0;
  const sigmoidBias = (o.sigmoidBias as number | undefined) ?? defaultBias;
  let topK = 0;
  if (o.topK !== undefined) {
    if (!isPositiveInt(o.topK)) throw new AttentionError('options.topK', describe(o.topK), 'a positive integer (≥ 1)');
    topK = o.topK;
  }
  if (sigmoid) {
    const excluded: [string, unknown][] = [
      ['options.sinks', o.sinks],
      ['options.topK', o.topK],
    ];
    for (const [argument, value] of excluded) {
      if (value !== undefined) {
        throw new AttentionError(argument, describe(value), "absent with normalization: 'sigmoid' (no softmax)");
      }
    }
    if (o.returnLse === true) {
      throw new AttentionError('options.returnLse', 'true', "false with normalization: 'sigmoid' (no log-sum-exp)");
    }
  }
  if (topK > 0 && o.sinks !== undefined) {
    throw new AttentionError('options.sinks', describe(o.sinks), 'absent with topK (choose one)');
  }
  const blockMask = o.blockMask === undefined ? null : checkBlockMask(o.blockMask, dims);
  return { normalization, sigmoidBias, topK, blockMask };
}

/**
 * The keys top-k keeps in one row: the `k` largest logits that are not −∞ (removed) nor NaN, ties
 * to the lower key index. Returns a 0/1 flag per key.
 * @example
 * topKeep(Float64Array.of(1, 3, 3, -Infinity), 2); // [0, 1, 1, 0]
 */
export function topKeep(logits: ArrayLike<number>, k: number): Uint8Array {
  const order: number[] = [];
  for (let j = 0; j < logits.length; j++) if (logits[j] > -Infinity) order.push(j);
  order.sort((a, b) => logits[b] - logits[a] || a - b);
  const keep = new Uint8Array(logits.length);
  for (const j of order.slice(0, k)) keep[j] = 1;
  return keep;
}
