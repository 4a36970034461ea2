/**
 * Where the projections of a multi-head-attention forward write, what attention reads, and the
 * kernels' plans: pure, from the checked config, the call and the device's limits, so it is
 * unit-tested without a GPU.
 *
 * Q, K and V are written straight in the layout attention reads, [B, length, heads, headDim]
 * (bshd), by the GEMM epilogue's head split; no transpose pass and no K/V repetition for
 * grouped-query heads. Self-attention puts all three in one buffer [B, L, Hq + 2·Hkv, headDim]
 * (q = heads 0…Hq−1, k = the next Hkv, v = the last Hkv), so packed weights (inProj, whose rows are
 * q, k, v in that order) make it with ONE GEMM; separate weights run three GEMMs into the same
 * buffer. Cross-attention writes Q into [B, L, Hq, headDim] and K, V into one [B, Lk, 2·Hkv, headDim].
 */
import type { MhaProjection, ResolvedMhaConfig, ValidatedMhaForward } from '../../contract/multi-head-options';
import { checkFits, type DeviceLimits } from '../../gpu/limits';
import { planMatmul, type MatmulPlan, type MatmulTile } from '../linear/plan';
import { planSdpa, type SdpaPlan } from '../sdpa/plan';
import { planNaive, type NaivePlan } from '../sdpa/plan-naive';

/**
 * A buffer the forward writes or reads: Q, K and V together (self-attention), Q and K|V apart, or
 * with a KV cache Q apart and the cache's stores of keys and values.
 */
export type MhaBuffer = 'qkv' | 'q' | 'kv' | 'keys' | 'values';

/**
 * Heads [firstHead, firstHead + count) of a [B, length, heads, headDim] buffer; or, with `cache`, tokens
 * [start, start + length) of a KV cache's store [B, heads, capacity, headDim].
 */
export interface HeadSlice {
  buffer: MhaBuffer;
  length: number;
  heads: number;
  firstHead: number;
  cache?: { capacity: number; start: number };
}

/** One projection GEMM: input rows [M, K] times weight rows [row, row + N), into a head slice. */
export interface ProjectionStep<T> {
  input: 'query' | 'key' | 'value';
  weight: T;
  bias?: T;
  row: number;
  M: number;
  N: number;
  K: number;
  out: HeadSlice;
  /** Output columns [0, rotaryColumns) are q or k heads and get rotary (0 = none). */
  rotaryColumns: number;
  /** Rotary position of the first token of each batch: positionOffset, plus the tokens a cache held. */
  position: number;
}

/** The projections, the slices attention reads, and the sizes of the buffers in between. */
export interface MhaPlan<T> {
  steps: ProjectionStep<T>[];
  q: HeadSlice;
  k: HeadSlice;
  v: HeadSlice;
  /** f32 elements of each intermediate buffer the plan writes. */
  bufferElements: Partial<Record<MhaBuffer, number>>;
  /** [B, L, Hq, headDim]: attention's output, read in place by the output projection as [B·L, Hq·headDim]. */
  attentionElements: number;
  /** Token positions the rotary table must hold: max(L, Lk) + positionOffset (0 without rotary). */
  rotaryPositions: number;
}

/**
 * Element offset and (batch, head, sequence) strides of a head slice.
 * @example
 * sliceLayout({ buffer: 'qkv', length: 7, heads: 12, firstHead: 8 }, 64); // { elementOffset: 512, strides: [5376, 64, 768] }
 */
export function sliceLayout(
  slice: HeadSlice,
  headDim: number,
): { elementOffset: number; strides: [number, number, number] } {
  if (slice.cache) {
    const { capacity, start } = slice.cache;
    const block = capacity * headDim;
    return { elementOffset: slice.firstHead * block + start * headDim, strides: [slice.heads * block, block, headDim] };
  }
  const token = slice.heads * headDim;
  return { elementOffset: slice.firstHead * headDim, strides: [slice.length * token, headDim, token] };
}

/**
 * Plans one forward: one GEMM for packed self-attention, else one per projection. With a KV cache
 * (`cacheCapacity`: its stores' capacity once grown), K and V go straight into the cache's stores
 * at the tokens it held, Q into its own buffer, and attention reads every token of the stores.
 * @example
 * const plan = planMha(config, call);
 * plan.steps.length; // 1 for packed weights and self-attention
 */
export function planMha<T>(c: ResolvedMhaConfig<T>, call: ValidatedMhaForward<T>, cacheCapacity = 0): MhaPlan<T> {
  const { B, L, Lk } = call;
  const [Hq, Hkv, hd] = [c.numHeads, c.numKvHeads, c.headDim];
  const rotary = (heads: number) => (c.rotary ? heads * hd : 0);
  const step = (
    input: ProjectionStep<T>['input'],
    p: MhaProjection<T>,
    out: HeadSlice,
    rotaryColumns: number,
  ): ProjectionStep<T> => ({
    input,
    weight: p.weight,
    bias: p.bias,
    row: p.row,
    M: B * out.length,
    N: p.rows,
    K: p.inDim,
    out,
    rotaryColumns,
    position: (c.rotary?.positionOffset ?? 0) + (call.pastLength ?? 0),
  });
  const common = {
    attentionElements: B * L * Hq * hd,
    rotaryPositions: c.rotary ? Math.max(L, Lk) + c.rotary.positionOffset : 0,
  };
  if (call.cache) {
    const q: HeadSlice = { buffer: 'q', length: L, heads: Hq, firstHead: 0 };
    const past = call.pastLength;
    const store = (buffer: 'keys' | 'values', start: number, length: number): HeadSlice => ({
      buffer,
      length,
      heads: Hkv,
      firstHead: 0,
      cache: { capacity: cacheCapacity, start },
    });
    const steps = [
      step('query', c.q, q, rotary(Hq)),
      step('query', c.k, store('keys', past, L), rotary(Hkv)),
      step('query', c.v, store('values', past, L), 0),
    ];
    const [k, v] = [store('keys', 0, past + L), store('values', 0, past + L)];
    return { steps, q, k, v, bufferElements: { q: B * L * Hq * hd }, ...common };
  }
  if (call.selfAttention) {
    const heads = Hq + 2 * Hkv;
    const slice = (firstHead: number): HeadSlice => ({ buffer: 'qkv', length: L, heads, firstHead });
    const [q, k, v] = [slice(0), slice(Hq), slice(Hq + Hkv)];
    // Packed: c.q is rows [0, Hq·hd) of inProj; the one GEMM takes every row, its bias all of inProjBias.
    const steps = c.packed
      ? [{ ...step('query', c.q, q, rotary(Hq + Hkv)), N: heads * hd }]
      : [step('query', c.q, q, rotary(Hq)), step('query', c.k, k, rotary(Hkv)), step('query', c.v, v, 0)];
    return { steps, q, k, v, bufferElements: { qkv: B * L * heads * hd }, ...common };
  }
  const q: HeadSlice = { buffer: 'q', length: L, heads: Hq, firstHead: 0 };
  const k: HeadSlice = { buffer: 'kv', length: Lk, heads: 2 * Hkv, firstHead: 0 };
  const v: HeadSlice = { ...k, firstHead: Hkv };
  const steps = [step('query', c.q, q, rotary(Hq)), step('key', c.k, k, rotary(Hkv)), step('value', c.v, v, 0)];
  return { steps, q, k, v, bufferElements: { q: B * L * Hq * hd, kv: B * Lk * 2 * Hkv * hd }, ...common };
}

/** Everything a forward encodes, checked against the device: nothing past this point throws an AttentionError. */
export interface LayerPlan<T> {
  layout: MhaPlan<T>;
  projections: MatmulPlan[];
  outProjection: MatmulPlan;
  /** The flash kernel, or the naive passes when the weights are asked for. */
  attention: { flash: SdpaPlan } | { naive: NaivePlan };
}

/**
 * Plans one forward on a device with `limits`: the buffers in between must fit, and so must every
 * GEMM and the attention kernel. Throws an AttentionError naming the input that is too large.
 * `tunedTile(M)` gives the context's tuned GEMM tiling for M rows, preferred where it fits.
 * @example
 * const plan = planLayer(config, call, device.limits);
 * 'flash' in plan.attention; // true unless call.needWeights
 */
export function planLayer<T>(
  c: ResolvedMhaConfig<T>,
  call: ValidatedMhaForward<T>,
  limits: DeviceLimits,
  cacheCapacity = 0,
  tunedTile: (M: number) => MatmulTile | undefined = () => undefined,
): LayerPlan<T> {
  const layout = planMha(c, call, cacheCapacity);
  for (const [buffer, elements] of Object.entries(layout.bufferElements)) {
    checkFits(limits, buffer === 'kv' ? 'options.key' : 'x', elements, elements * 4);
  }
  checkFits(limits, 'x', layout.attentionElements, layout.attentionElements * 4);
  if (c.rotary) {
    const elements = layout.rotaryPositions * c.rotary.dim;
    checkFits(limits, 'config.rotary', elements, elements * 4);
  }
  const argument = (s: ProjectionStep<T>) => (s.input === 'query' ? 'x' : `options.${s.input}`);
  const projections = layout.steps.map((s) => planMatmul(s, limits, argument(s), undefined, tunedTile(s.M)));
  const out = { M: call.B * call.L, N: c.embedDim, K: c.numHeads * c.headDim };
  const outProjection = planMatmul(out, limits, 'x', undefined, tunedTile(out.M));
  const attention = call.needWeights
    ? { naive: planNaive(call.sdpaDims, limits, 'options.needWeights') }
    : { flash: planSdpa(call.sdpaDims, limits, undefined, 'x') };
  return { layout, projections, outProjection, attention };
}
