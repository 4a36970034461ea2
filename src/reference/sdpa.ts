/**
 * Scaled-dot-product attention on the CPU in float64: the semantics every kernel is tested
 * against (docs/semantics.md). Written for clarity, not speed.
 */
import { AttentionError, describe } from '../errors';
import {
  validateLayout,
  validateMaskShape,
  validateSdpaOptions,
  validateSdpaShapes,
  type MaskStrides,
  type ResolvedSdpaOptions,
  type SdpaDims,
} from '../contract/sdpa';
import { windowAllows } from '../contract/window';
import type { HostResult, HostTensor, Layout, ReferenceSdpaOptions } from '../contract/types';
import { asHostTensor, checkHostLength } from './host';
import { accumulateRow, sigmoidRow, softmaxRow } from './softmax';
import { blockOn, topKeep, type ResolvedVariants } from '../contract/variants';

/** What `reference.sdpa` returns when `returnLse` or `returnWeights` is set. */
export interface ReferenceSdpaOutputs {
  /** [B, Hq, Lq, Dv] (bhsd) or [B, Lq, Hq, Dv] (bshd). */
  output: HostResult;
  /** [B, Hq, Lq]: natural log of Σ_j exp(logit_j); −Infinity for a row with no key. */
  lse?: HostResult;
  /** [B, Hq, Lq, Lk]: softmax probabilities; a row with no key is all zeros. */
  weights?: HostResult;
}

type Data = HostTensor['data'];

/** A validated mask: how to read the additive term of (b, h, i, j). */
interface MaskReader {
  data: Data;
  bool: boolean;
  strides: MaskStrides;
}

/** Offset of element (b, h, l, 0) of a [B, H, L, D] tensor stored in `layout`. */
function rowIndexer(layout: Layout, H: number, L: number, D: number): (b: number, h: number, l: number) => number {
  return layout === 'bshd' ? (b, h, l) => ((b * L + l) * H + h) * D : (b, h, l) => ((b * H + h) * L + l) * D;
}

function checkMask(mask: unknown, dims: SdpaDims): MaskReader | undefined {
  if (mask === undefined) return undefined;
  const t = asHostTensor('options.mask', mask);
  const strides = validateMaskShape(t.shape, dims);
  checkHostLength('options.mask', t);
  return { data: t.data, bool: t.data instanceof Uint8Array, strides };
}

/** The mask of one (b, h, i) row: a boolean mask removes keys, a float mask adds to the logits. */
interface RowMask {
  allows(j: number): boolean;
  add(j: number): number;
}

const NO_MASK: RowMask = { allows: () => true, add: () => 0 };

function maskRow(mask: MaskReader | undefined, b: number, h: number, i: number): RowMask {
  if (!mask) return NO_MASK;
  const { data, bool, strides: s } = mask;
  const base = b * s.b + h * s.h + i * s.i;
  return bool
    ? { allows: (j) => data[base + j * s.j] !== 0, add: () => 0 }
    : { allows: () => true, add: (j) => Number(data[base + j * s.j]) };
}

/** The row's mask with the padded keys of batch b removed as well. */
function paddedRow(row: RowMask, padding: ArrayLike<number> | undefined, b: number, Lk: number): RowMask {
  if (!padding) return row;
  return { allows: (j) => !padding[b * Lk + j] && row.allows(j), add: row.add };
}

/**
 * Fills `logits` (length Lk) for one query row, in the contract's order: scale · q·k, softcap,
 * + ALiBi's −slope·|p − j| (`slope` 0 without it), + the float mask. A key that causal, the window or
 * a boolean mask removes is −∞ and never computed, so nothing stored at it (q·k, the mask value) can
 * reach the row.
 */
function rowLogits(
  logits: Float64Array,
  q: Data,
  qAt: number,
  k: Data,
  kAt: (j: number) => number,
  D: number,
  o: ResolvedSdpaOptions,
  i: number,
  mask: RowMask,
  global: ReadonlySet<number>,
  slope: number,
): void {
  const p = i + o.offset;
  for (let j = 0; j < logits.length; j++) {
    let s = -Infinity;
    if ((!o.causal || j <= p) && windowAllows(o.window, p, j, global) && mask.allows(j)) {
      const kj = kAt(j);
      let dot = 0;
      for (let d = 0; d < D; d++) dot += Number(q[qAt + d]) * Number(k[kj + d]);
      s = o.scale * dot;
      if (o.softcap > 0) s = o.softcap * Math.tanh(s / o.softcap);
      if (slope !== 0) s -= slope * Math.abs(p - j);
      s += mask.add(j);
    }
    logits[j] = s;
  }
}

/**
 * Block mask and top-k on one row's logits: keys of blocks that are off, and keys top-k drops,
 * become −∞ (removed). NaN logits stay, so they reach the row as in softmax.
 */
function applyVariants(logits: Float64Array, v: ResolvedVariants, b: number, h: number, i: number): void {
  const m = v.blockMask;
  if (m)
    for (let j = 0; j < logits.length; j++)
      if (!blockOn(m, b, h, Math.floor(i / m.bq), Math.floor(j / m.bk))) logits[j] = -Infinity;
  if (v.topK > 0) {
    const keep = topKeep(logits, v.topK);
    for (let j = 0; j < logits.length; j++) if (!keep[j] && logits[j] > -Infinity) logits[j] = -Infinity;
  }
}

interface Inputs {
  q: HostTensor;
  k: HostTensor;
  v: HostTensor;
  dims: SdpaDims;
  o: ResolvedSdpaOptions;
  mask?: MaskReader;
  /** [B, Lk], 1 = padding: a layer's key-padding mask, which removes keys (never computed). */
  keyPadding?: ArrayLike<number>;
}

function validate(q: unknown, k: unknown, v: unknown, options: ReferenceSdpaOptions | undefined): Inputs {
  const qt = asHostTensor('q', q);
  const kt = asHostTensor('k', k);
  const vt = asHostTensor('v', v);
  const layout = validateLayout(options?.layout);
  const dims = validateSdpaShapes(qt.shape, kt.shape, vt.shape, layout);
  const o = validateSdpaOptions(options, dims);
  if (options?.returnWeights !== undefined && typeof options.returnWeights !== 'boolean') {
    throw new AttentionError('options.returnWeights', describe(options.returnWeights), 'true or false');
  }
  checkHostLength('q', qt);
  checkHostLength('k', kt);
  checkHostLength('v', vt);
  return { q: qt, k: kt, v: vt, dims, o, mask: checkMask(options?.mask, dims) };
}

interface Buffers {
  out: Float64Array;
  lse?: Float64Array;
  weights?: Float64Array;
}

function compute({ q, k, v, dims, o, mask, keyPadding }: Inputs, bufs: Buffers): void {
  const { B, Hq, Hkv, Lq, Lk, D, Dv } = dims;
  const group = Hq / Hkv;
  const qAt = rowIndexer(o.layout, Hq, Lq, D);
  const kAt = rowIndexer(o.layout, Hkv, Lk, D);
  const vAt = rowIndexer(o.layout, Hkv, Lk, Dv);
  const outAt = rowIndexer(o.layout, Hq, Lq, Dv);
  const logits = new Float64Array(Lk);
  const p = new Float64Array(Lk);
  const global = new Set(o.window.globalTokens);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const g = Math.floor(h / group);
      for (let i = 0; i < Lq; i++) {
        const rowMask = paddedRow(maskRow(mask, b, h, i), keyPadding, b, Lk);
        const slope = o.modifiers.alibiSlopes?.[h] ?? 0;
        rowLogits(logits, q.data, qAt(b, h, i), k.data, (j) => kAt(b, g, j), D, o, i, rowMask, global, slope);
        applyVariants(logits, o.variants, b, h, i);
        const row = (b * Hq + h) * Lq + i;
        const lse =
          o.variants.normalization === 'sigmoid'
            ? sigmoidRow(logits, p, o.variants.sigmoidBias)
            : softmaxRow(logits, p, o.modifiers.sinks?.[h]);
        if (bufs.lse) bufs.lse[row] = lse;
        if (bufs.weights) bufs.weights.set(p, row * Lk);
        accumulateRow(logits, p, (j) => vAt(b, g, j), v.data, Dv, bufs.out, outAt(b, h, i));
      }
    }
  }
}

/** sdpa returning lse and weights. */
export function sdpa(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options: ReferenceSdpaOptions & { returnLse: true; returnWeights: true },
): Required<ReferenceSdpaOutputs>;
/** sdpa returning lse. */
export function sdpa(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options: ReferenceSdpaOptions & { returnLse: true },
): ReferenceSdpaOutputs & { lse: HostResult };
/** sdpa returning weights. */
export function sdpa(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options: ReferenceSdpaOptions & { returnWeights: true },
): ReferenceSdpaOutputs & { weights: HostResult };
/** sdpa returning the output only. */
export function sdpa(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options?: ReferenceSdpaOptions & { returnLse?: false; returnWeights?: false },
): HostResult;
/** sdpa whose return shape is only known at run time. */
export function sdpa(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options?: ReferenceSdpaOptions,
): HostResult | ReferenceSdpaOutputs;
/**
 * Scaled-dot-product attention in float64: softmax(scale·QKᵀ [softcap] + mask [causal]) · V.
 * Throws {@link AttentionError} naming the bad argument. A query row with no key outputs zeros.
 * @example
 * const q = { data: new Float32Array([1]), shape: [1, 1, 1, 1] };
 * const k = { data: new Float32Array([1, 2]), shape: [1, 1, 2, 1] };
 * const v = { data: new Float32Array([10, 20]), shape: [1, 1, 2, 1] };
 * sdpa(q, k, v).data;                       // Float64Array [17.3105857863…]
 * sdpa(q, k, v, { returnLse: true }).lse.data; // Float64Array [2.3132616875…]
 */
export function sdpa(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options?: ReferenceSdpaOptions,
): HostResult | ReferenceSdpaOutputs {
  return sdpaWithKeyPadding(q, k, v, options, undefined);
}

/**
 * reference.sdpa with a layer's key-padding mask [B, Lk] (1 = padding), which removes keys the way
 * causal does: the padded keys are never computed. Internal: the reference layer's path.
 */
export function sdpaWithKeyPadding(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options: ReferenceSdpaOptions | undefined,
  keyPadding: ArrayLike<number> | undefined,
): HostResult | ReferenceSdpaOutputs {
  const inputs = { ...validate(q, k, v, options), keyPadding };
  const { B, Hq, Lq, Lk, Dv } = inputs.dims;
  const outShape = inputs.o.layout === 'bshd' ? [B, Lq, Hq, Dv] : [B, Hq, Lq, Dv];
  const bufs: Buffers = {
    out: new Float64Array(B * Hq * Lq * Dv),
    lse: inputs.o.returnLse ? new Float64Array(B * Hq * Lq) : undefined,
    weights: options?.returnWeights ? new Float64Array(B * Hq * Lq * Lk) : undefined,
  };
  compute(inputs, bufs);
  const output: HostResult = { data: bufs.out, shape: outShape };
  if (!bufs.lse && !bufs.weights) return output;
  const result: ReferenceSdpaOutputs = { output };
  if (bufs.lse) result.lse = { data: bufs.lse, shape: [B, Hq, Lq] };
  if (bufs.weights) result.weights = { data: bufs.weights, shape: [B, Hq, Lq, Lk] };
  return result;
}
