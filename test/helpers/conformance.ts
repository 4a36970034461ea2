/**
 * Conformance cases from ONNX's and ONNX Runtime's own attention tests (test/data/conformance,
 * copied from shared/conformance; semantics in its README), mapped onto one `sdpa` call each, or
 * (ort.Attention, which projects its input) onto one multi-head-attention layer.
 * Everything sdpa lacks is done on the host (reshapes, KV-cache concatenation, QKV bias, masks
 * built from lengths); a case that needs an operation we do not have yet says which. float16 inputs
 * are their exact values (every f16 is a float32): the reference takes them as they are, and the
 * GPU ring stores them as f16 (`storage`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { validateMaskShape } from '../../src/contract/sdpa';
import { compareArrays } from './compare';
import { roundF16 } from '../../src/contract/f16';
import type { Layout, ReferenceSdpaOptions } from '../../src/contract/types';

export interface CaseTensor {
  name: string;
  dtype: string;
  dims: number[];
  data: (number | string)[];
}
export interface ConformanceCase {
  id: string;
  op: string;
  source: Record<string, unknown>;
  semantics: string[];
  attributes: Record<string, number>;
  inputs: CaseTensor[];
  outputs: CaseTensor[];
  tolerance: { atol: number; rtol: number; from: string };
  note?: string;
}
export interface F32Tensor {
  data: Float32Array;
  shape: number[];
}
export interface MaskTensor {
  data: Float32Array | Uint8Array;
  shape: number[];
}
export interface Expected {
  name: string;
  data: Float32Array | number[];
  shape: number[];
}
export interface Tolerance {
  atol: number;
  rtol: number;
}

/** One conformance case as an sdpa call. */
export interface SdpaCall {
  id: string;
  q: F32Tensor;
  k: F32Tensor;
  v: F32Tensor;
  options: Omit<ReferenceSdpaOptions, 'mask'> & { mask?: MaskTensor };
  /** Y / output, in the case's layout. */
  expected: Expected;
  tolerance: Tolerance;
  /** Flattens an sdpa output (in `options.layout`) into the layout of `expected`. */
  reshapeOutput: (r: { data: ArrayLike<number> }) => Float64Array;
  /** qk_matmul_output in mode 3 (softmax probabilities): comparable with `returnWeights`. */
  expectedWeights?: Expected;
  /**
   * present_key / present_value against the harness's own concat(past, new) (with ORT's QKV bias): a
   * check of this mapping (that sdpa is given the keys and values the source attended over), not of
   * the library, which keeps no KV cache. These outputs are also listed in `notCompared`.
   */
  mappingChecks: { name: string; hostBuilt: Float32Array; expected: Expected }[];
  /** Outputs the case has that sdpa cannot produce, with why: never compared with a library output. */
  notCompared: string[];
  /** The GPU storage of q, k, v and a float mask: 'f16' where the case's own tensors are float16. */
  storage: { q: 'f32' | 'f16'; k: 'f32' | 'f16'; v: 'f32' | 'f16'; mask: 'f32' | 'f16' };
}
export interface Unsupported {
  id: string;
  unsupported: string;
}

/**
 * One ort.Attention case as a multi-head-attention layer: inProj = weightsᵀ [3·D, Din] with the
 * case's bias, headDim = D / num_heads, and an output projection [Din, D] copying the D attention
 * columns into the first D of the Din-wide output (ORT does not fuse the output projection).
 */
export interface MhaCall {
  id: string;
  embedDim: number;
  numHeads: number;
  headDim: number;
  weights: { inProj: F32Tensor; inProjBias: F32Tensor; outProj: F32Tensor };
  /** input [B, S, Din]. */
  x: F32Tensor;
  scale?: number;
  /** output [B, S, D]. */
  expected: Expected;
  tolerance: Tolerance;
  /** The layer's output [B, S, Din] → its first D columns, as `expected` is laid out. */
  reshapeOutput: (r: { data: ArrayLike<number> }) => Float64Array;
}

const DATA_DIR = new URL('../data/conformance/', import.meta.url);

/** Every case of test/data/conformance/*.json, in file order. */
export function loadConformanceCases(): ConformanceCase[] {
  const files = readdirSync(DATA_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
  return files.flatMap((f) => JSON.parse(readFileSync(new URL(f, DATA_DIR), 'utf8')) as ConformanceCase[]);
}

// ---------- host tensor helpers ----------

const num = (x: number | string): number => (typeof x === 'number' ? x : Number(x)); // "-Infinity"
/**
 * The values of a tensor: float16 ones are stored as the shortest decimals that round to them (numpy's
 * repr, e.g. 0.549 for 0.548828125), so they are rounded to f16 to get the values the case computed with.
 */
const valuesOf = (t: CaseTensor): number[] =>
  t.dtype === 'float16' ? t.data.map((x) => roundF16(num(x))) : t.data.map(num);
const f32 = (t: CaseTensor): F32Tensor => ({ data: Float32Array.from(valuesOf(t)), shape: [...t.dims] });
const sizeOf = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Swaps axes 1 and 2 of a 4-D tensor: bshd ⇄ bhsd. */
function swap12<T extends Float32Array | Float64Array>(data: T, [A, X, Y, Z]: readonly number[]): T {
  const out = new (data.constructor as new (n: number) => T)(data.length);
  for (let a = 0; a < A; a++)
    for (let x = 0; x < X; x++)
      for (let y = 0; y < Y; y++) {
        out.set(data.subarray(((a * X + x) * Y + y) * Z, ((a * X + x) * Y + y + 1) * Z), ((a * Y + y) * X + x) * Z);
      }
  return out;
}

/** Concatenates two bhsd tensors along the sequence axis (a KV cache). */
function concatSeq(p: F32Tensor, n: F32Tensor): F32Tensor {
  const [B, H, P, D] = p.shape;
  const S = n.shape[2];
  const out = new Float32Array(B * H * (P + S) * D);
  for (let bh = 0; bh < B * H; bh++) {
    out.set(p.data.subarray(bh * P * D, (bh + 1) * P * D), bh * (P + S) * D);
    out.set(n.data.subarray(bh * S * D, (bh + 1) * S * D), (bh * (P + S) + P) * D);
  }
  return { data: out, shape: [B, H, P + S, D] };
}

/** [B, S, H·D] → [B, S, H, D] (bshd): a reshape, no data moves. */
function split3d(t: F32Tensor, heads: number): F32Tensor {
  const [B, S, HD] = t.shape;
  return { data: t.data, shape: [B, S, heads, HD / heads] };
}

/** Adds bias[offset + c] to every row of a [..., C] tensor (ORT's QKV bias). */
function addBias(t: F32Tensor, bias: F32Tensor | undefined, offset: number): F32Tensor {
  if (!bias) return t;
  const C = t.shape[t.shape.length - 1];
  return { data: t.data.map((x, e) => x + bias.data[offset + (e % C)]), shape: t.shape };
}

/** Takes columns [from, from + width) of every row of a [..., C] tensor (packed QKV). */
function columns(t: F32Tensor, from: number, width: number): F32Tensor {
  const C = t.shape[t.shape.length - 1];
  const rows = t.data.length / C;
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) out.set(t.data.subarray(r * C + from, r * C + from + width), r * width);
  return { data: out, shape: [...t.shape.slice(0, -1), width] };
}

// ---------- q, k, v and the KV cache ----------

interface Qkv {
  q: F32Tensor;
  k: F32Tensor;
  v: F32Tensor;
  layout: Layout;
}

const toBhsd = (t: F32Tensor, layout: Layout): F32Tensor =>
  layout === 'bhsd' ? t : { data: swap12(t.data, t.shape), shape: [t.shape[0], t.shape[2], t.shape[1], t.shape[3]] };

/** Appends the new keys/values to a past cache (BNSH); an ORT "empty past" (length 0) means none. */
function withPast(t: Qkv, pastK?: CaseTensor, pastV?: CaseTensor): Qkv {
  if (!pastK || !pastV || pastK.dims[2] === 0) return t;
  return {
    q: toBhsd(t.q, t.layout),
    k: concatSeq(f32(pastK), toBhsd(t.k, t.layout)),
    v: concatSeq(f32(pastV), toBhsd(t.v, t.layout)),
    layout: 'bhsd',
  };
}

/** Sizes read back from q/k/v in their layout. */
function sizes({ q, k, v, layout }: Qkv) {
  const [h, l] = layout === 'bshd' ? [2, 1] : [1, 2];
  return {
    B: q.shape[0],
    Hq: q.shape[h],
    Hkv: k.shape[h],
    Sq: q.shape[l],
    total: k.shape[l],
    D: q.shape[3],
    Dv: v.shape[3],
  };
}
type Sizes = ReturnType<typeof sizes>;

// ---------- masks ----------

interface Term {
  bool: boolean;
  data: Float32Array | Uint8Array;
  shape: number[];
}

/** An ONNX attn_mask: rank 1 becomes [1, n]; a last dim shorter than `total` is padded as masked. */
function onnxMask(t: CaseTensor, total: number): Term {
  const bool = t.dtype === 'bool';
  const shape = t.dims.length === 1 ? [1, t.dims[0]] : [...t.dims];
  const n = shape[shape.length - 1];
  const rows = sizeOf(shape) / n;
  const data = bool ? new Uint8Array(rows * total) : new Float32Array(rows * total).fill(-Infinity);
  const values = valuesOf(t);
  for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) data[r * total + j] = values[r * n + j];
  shape[shape.length - 1] = total;
  return { bool, data, shape };
}

/** Keys j ≥ len[b] masked, as [B, 1, 1, total]; `fill` is the additive value (boolean when undefined). */
function lengthMask(len: number[], total: number, fill?: number): Term | undefined {
  if (len.every((l) => l >= total)) return undefined;
  const data = fill === undefined ? new Uint8Array(len.length * total) : new Float32Array(len.length * total);
  len.forEach((l, b) => {
    for (let j = 0; j < total; j++) data[b * total + j] = j < l ? (fill === undefined ? 1 : 0) : (fill ?? 0);
  });
  return { bool: fill === undefined, data, shape: [len.length, 1, 1, total] };
}

/** Causal with per-batch offsets that no alignment expresses: key j allowed iff j ≤ i + offset[b]. */
function causalMask(offsets: number[], Sq: number, total: number): Term {
  const B = offsets.every((o) => o === offsets[0]) ? 1 : offsets.length;
  const data = new Uint8Array(B * Sq * total);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < Sq; i++)
      for (let j = 0; j < total; j++) {
        data[(b * Sq + i) * total + j] = j <= i + offsets[b] ? 1 : 0;
      }
  return { bool: true, data, shape: [B, 1, Sq, total] };
}

/** Causal as options when one alignment expresses it, else as a mask term. */
function causal(offsets: number[] | undefined, s: Sizes): { options: SdpaCall['options']; term?: Term } {
  if (!offsets) return { options: {} };
  const same = offsets.every((o) => o === offsets[0]);
  if (same && offsets[0] === 0) return { options: { causal: true } };
  if (same && offsets[0] === s.total - s.Sq) return { options: { causal: true, alignment: 'lower-right' } };
  return { options: {}, term: causalMask(offsets, s.Sq, s.total) };
}

/** A window the alignments cannot express (per-batch offsets): p − left ≤ j ≤ p + right, p = i + offset[b]. */
function windowMask(w: OnnxWindow, Sq: number, total: number): Term {
  const B = w.offsets.every((o) => o === w.offsets[0]) ? 1 : w.offsets.length;
  const data = new Uint8Array(B * Sq * total);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < Sq; i++)
      for (let j = 0; j < total; j++) {
        const p = i + w.offsets[b];
        data[(b * Sq + i) * total + j] = (w.left < 0 || j >= p - w.left) && (w.right < 0 || j <= p + w.right) ? 1 : 0;
      }
  return { bool: true, data, shape: [B, 1, Sq, total] };
}

/** The window as options when an alignment expresses its offsets (and agrees with causal's), else as a mask term. */
function slidingWindow(
  w: OnnxWindow | undefined,
  s: Sizes,
  chosen: SdpaCall['options'],
): { options: SdpaCall['options']; term?: Term } {
  if (!w) return { options: {} };
  const same = w.offsets.every((o) => o === w.offsets[0]);
  const alignment =
    same && w.offsets[0] === 0 ? 'upper-left' : same && w.offsets[0] === s.total - s.Sq ? 'lower-right' : undefined;
  const agrees = chosen.causal === undefined || (chosen.alignment ?? 'upper-left') === alignment;
  if (!alignment || !agrees) return { options: {}, term: windowMask(w, s.Sq, s.total) };
  return {
    options: { window: { left: w.left, right: w.right }, ...(alignment === 'lower-right' ? { alignment } : {}) },
  };
}

/** One mask from several terms: a term alone passes through; several are combined at full size. */
function combine(terms: (Term | undefined)[], s: Sizes): MaskTensor | undefined {
  const ts = terms.filter((t): t is Term => t !== undefined);
  if (ts.length <= 1) return ts[0] && { data: ts[0].data, shape: ts[0].shape };
  const dims = { B: s.B, Hq: s.Hq, Hkv: s.Hkv, Lq: s.Sq, Lk: s.total, D: s.D, Dv: s.Dv };
  const strides = ts.map((t) => validateMaskShape(t.shape, dims));
  const H = ts.some((t) => t.shape.length >= 3 && t.shape[t.shape.length - 3] > 1) ? s.Hq : 1;
  const bool = ts.every((t) => t.bool);
  const shape = [s.B, H, s.Sq, s.total];
  const data = bool ? new Uint8Array(sizeOf(shape)) : new Float32Array(sizeOf(shape));
  let e = 0;
  for (let b = 0; b < s.B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < s.Sq; i++)
        for (let j = 0; j < s.total; j++) {
          let sum = 0;
          ts.forEach((t, n) => {
            const x = t.data[b * strides[n].b + h * strides[n].h + i * strides[n].i + j * strides[n].j];
            sum += t.bool ? (x ? 0 : -Infinity) : x;
          });
          data[e++] = bool ? (sum === 0 ? 1 : 0) : sum;
        }
  return { data, shape };
}

// ---------- per-operation mapping ----------

/** A sliding window and the per-batch position offsets it is measured from. */
interface OnnxWindow {
  left: number;
  right: number;
  offsets: number[];
}

interface Mapped {
  qkv: Qkv;
  terms: (Term | undefined)[];
  offsets?: number[];
  window?: OnnxWindow;
  scale?: number;
  softcap?: number;
}

const input = (c: ConformanceCase, name: string) => c.inputs.find((t) => t.name === name);
const ints = (t: CaseTensor) => t.data.map(num);

/** onnx.Attention: 4-D BNSH or 3-D [B, S, heads·D]; past cache; attn_mask; nonpad_kv_seqlen. */
function mapOnnx(c: ConformanceCase): Mapped {
  const [Q, K, V] = ['Q', 'K', 'V'].map((n) => f32(input(c, n)!));
  const a = c.attributes;
  const three = Q.shape.length === 3;
  const base: Qkv = three
    ? { q: split3d(Q, a.q_num_heads), k: split3d(K, a.kv_num_heads), v: split3d(V, a.kv_num_heads), layout: 'bshd' }
    : { q: Q, k: K, v: V, layout: 'bhsd' };
  const pastK = input(c, 'past_key');
  const qkv = withPast(base, pastK, input(c, 'past_value'));
  const s = sizes(qkv);
  const mask = input(c, 'attn_mask');
  const nonpad = input(c, 'nonpad_kv_seqlen');
  const lens = nonpad ? ints(nonpad) : undefined;
  // ONNX: offset 0 without a cache, past length with one, nonpad_kv_seqlen[b] − Sq with an external cache.
  const positions: number[] = lens ? lens.map((l) => l - s.Sq) : Array(s.B).fill(pastK ? pastK.dims[2] : 0);
  const offsets = a.is_causal ? positions : undefined;
  const [left, right] = [a.left_window_size ?? -1, a.right_window_size ?? -1];
  const window = left !== -1 || right !== -1 ? { left, right, offsets: positions } : undefined;
  const terms = [mask && onnxMask(mask, s.total), lens && lengthMask(lens, s.total)];
  return { qkv, terms, offsets, window, scale: a.scale, softcap: a.softcap };
}

/** ort.MultiHeadAttention: 3-D packed heads, QKV bias, key_padding_mask, attention_bias, past. */
function mapOrtMha(c: ConformanceCase): Mapped {
  const N = c.attributes.num_heads;
  const [Q, K, V] = ['query', 'key', 'value'].map((n) => f32(input(c, n)!));
  const biasT = input(c, 'bias');
  const bias = biasT && f32(biasT);
  const Dq = Q.shape[2];
  const base: Qkv = {
    q: split3d(addBias(Q, bias, 0), N),
    k: split3d(addBias(K, bias, Dq), N),
    v: split3d(addBias(V, bias, 2 * Dq), N),
    layout: 'bshd',
  };
  const qkv = withPast(base, input(c, 'past_key'), input(c, 'past_value'));
  const s = sizes(qkv);
  const fill = c.attributes.mask_filter_value ?? -10000;
  const kpm = input(c, 'key_padding_mask');
  const attnBias = input(c, 'attention_bias');
  return {
    qkv,
    terms: [kpm && keyPadding(kpm, s, fill), attnBias && onnxMask(attnBias, s.total)],
    scale: c.attributes.scale,
  };
}

/** ORT key_padding_mask: [B] valid lengths, or [B, total] 1 = attend; masked keys get `fill` added. */
function keyPadding(t: CaseTensor, s: Sizes, fill: number): Term | undefined {
  if (t.dims.length === 1) return lengthMask(ints(t), s.total, fill);
  const data = Float32Array.from(ints(t), (x) => (x ? 0 : fill));
  return { bool: false, data, shape: [s.B, 1, 1, s.total] };
}

/** ort.GroupQueryAttention: always causal bottom-right; packed QKV split on the host. */
function mapOrtGqa(c: ConformanceCase): Mapped | string {
  const { num_heads: N, kv_num_heads: Nkv } = c.attributes;
  const Q = f32(input(c, 'query')!);
  const packed = !input(c, 'key');
  const H = Q.shape[2] / (packed ? N + 2 * Nkv : N);
  const [q, k, v] = packed
    ? [columns(Q, 0, N * H), columns(Q, N * H, Nkv * H), columns(Q, (N + Nkv) * H, Nkv * H)]
    : [Q, f32(input(c, 'key')!), f32(input(c, 'value')!)];
  const qkv = withPast(
    { q: split3d(q, N), k: split3d(k, Nkv), v: split3d(v, Nkv), layout: 'bshd' },
    input(c, 'past_key'),
    input(c, 'past_value'),
  );
  const s = sizes(qkv);
  const seqlens = ints(input(c, 'seqlens_k')!);
  if (seqlens.some((l) => l + 1 !== s.total)) return 'needs per-batch KV lengths (seqlens_k + 1 ≠ past + new)';
  const attnBias = input(c, 'attention_bias');
  const offsets = seqlens.map((l) => l + 1 - s.Sq);
  // local_window_size W: W keys including the query itself, i.e. a left window of W − 1.
  const W = c.attributes.local_window_size ?? -1;
  const window = W >= 0 ? { left: W - 1, right: 0, offsets } : undefined;
  return {
    qkv,
    terms: [attnBias && onnxMask(attnBias, s.total)],
    offsets,
    window,
    scale: c.attributes.scale,
    softcap: c.attributes.softcap,
  };
}

// ---------- assembling a call ----------

const KNOWN: Record<string, string[]> = {
  'onnx.Attention': [
    'q_num_heads',
    'kv_num_heads',
    'is_causal',
    'scale',
    'softcap',
    'qk_matmul_output_mode',
    'softmax_precision',
    'left_window_size',
    'right_window_size',
  ],
  'ort.MultiHeadAttention': ['num_heads', 'mask_filter_value', 'scale'],
  'ort.GroupQueryAttention': ['num_heads', 'kv_num_heads', 'scale', 'softcap', 'local_window_size'],
};

/** Why a case cannot run on sdpa today, or undefined when it can. */
function whyUnsupported(c: ConformanceCase): string | undefined {
  const a = c.attributes;
  const reasons: string[] = [];
  if (c.op === 'ort.Attention') return 'needs a multi-head-attention layer: map it with toMhaCall';
  if (!KNOWN[c.op]) return `unknown op ${c.op}`;
  const unknown = Object.keys(a).filter((n) => !KNOWN[c.op].includes(n));
  if (unknown.length) reasons.push(`needs attributes ${unknown.join(', ')}`);
  return reasons.length ? reasons.join('; ') : undefined;
}

/**
 * Where the case's q, k, v and mask are float16, so are the GPU tensors. A float mask is f16 when the
 * case's attn_mask / attention_bias is: terms added to it (lengths, causal) are 0 or −∞, which keep
 * its values f16.
 */
function storageOf(c: ConformanceCase, maskIsFloat: boolean): SdpaCall['storage'] {
  const half = (...names: string[]) => (names.some((n) => input(c, n)?.dtype === 'float16') ? 'f16' : 'f32');
  const mask = maskIsFloat ? half('attn_mask', 'attention_bias') : 'f32';
  return { q: half('Q', 'query'), k: half('K', 'key', 'query'), v: half('V', 'value', 'query'), mask };
}

const expectedOf = (t: CaseTensor): Expected => ({
  name: t.name,
  data: t.dtype === 'float32' ? Float32Array.from(t.data, num) : valuesOf(t),
  shape: [...t.dims],
});

/** Maps one conformance case onto a `reference.sdpa` / `attn.sdpa` call, or says why it cannot. */
export function toSdpaCall(c: ConformanceCase): SdpaCall | Unsupported {
  const why = whyUnsupported(c);
  if (why) return { id: c.id, unsupported: why };
  const m = c.op === 'onnx.Attention' ? mapOnnx(c) : c.op === 'ort.MultiHeadAttention' ? mapOrtMha(c) : mapOrtGqa(c);
  if (typeof m === 'string') return { id: c.id, unsupported: m };
  const s = sizes(m.qkv);
  const { options: causalOptions, term } = causal(m.offsets, s);
  const { options: windowOptions, term: windowTerm } = slidingWindow(m.window, s, causalOptions);
  const mask = combine([...m.terms, term, windowTerm], s);
  const options: SdpaCall['options'] = { ...causalOptions, ...windowOptions, layout: m.qkv.layout };
  if (m.scale !== undefined) options.scale = m.scale;
  if (m.softcap) options.softcap = m.softcap;
  if (mask) options.mask = mask;
  const [Y, ...rest] = c.outputs;
  return {
    id: c.id,
    q: m.qkv.q,
    k: m.qkv.k,
    v: m.qkv.v,
    options,
    expected: expectedOf(Y),
    tolerance: { atol: c.tolerance.atol, rtol: c.tolerance.rtol },
    reshapeOutput: outputReshaper(m.qkv.layout, Y.dims.length === 3 ? 'bshd' : 'bhsd', [s.B, s.Hq, s.Sq, s.Dv]),
    ...extraOutputs(c, rest, m.qkv),
    storage: storageOf(c, mask !== undefined && !(mask.data instanceof Uint8Array)),
  };
}

const ORT_ATTENTION_INPUTS = ['input', 'weights', 'bias'];

/** Why an ort.Attention case cannot run as a multi-head layer, or undefined when it can. */
function whyNoMhaCall(c: ConformanceCase): string | undefined {
  const reasons: string[] = [];
  const unknown = Object.keys(c.attributes).filter((n) => !['num_heads', 'scale'].includes(n));
  if (unknown.length) reasons.push(`needs attributes ${unknown.join(', ')}`);
  const extra = c.inputs.filter((t) => !ORT_ATTENTION_INPUTS.includes(t.name)).map((t) => t.name);
  if (extra.length) reasons.push(`needs inputs ${extra.join(', ')}`);
  if (c.outputs.length !== 1)
    reasons.push(
      `needs outputs ${c.outputs
        .slice(1)
        .map((t) => t.name)
        .join(', ')}`,
    );
  if (reasons.length === 0 && input(c, 'weights')!.dims[1] / 3 > input(c, 'input')!.dims[2])
    reasons.push('needs an output wider than the layer input (D > Din)');
  return reasons.length ? reasons.join('; ') : undefined;
}

/** Maps an ort.Attention case onto `attn.multiHeadAttention` / `reference.multiHeadAttention`. */
export function toMhaCall(c: ConformanceCase): MhaCall | Unsupported {
  if (c.op !== 'ort.Attention')
    return { id: c.id, unsupported: `needs sdpa, not a multi-head layer: ${c.op} (map it with toSdpaCall)` };
  const why = whyNoMhaCall(c);
  if (why) return { id: c.id, unsupported: why };
  const [x, w, bias] = ORT_ATTENTION_INPUTS.map((n) => f32(input(c, n)!));
  const [E, D3] = w.shape;
  const D = D3 / 3;
  const H = c.attributes.num_heads;
  const inProj = Float32Array.from({ length: D3 * E }, (_, e) => w.data[(e % E) * D3 + Math.floor(e / E)]);
  const outProj = Float32Array.from({ length: E * D }, (_, e) => Number(Math.floor(e / D) === e % D));
  const rows = sizeOf(x.shape) / E;
  return {
    id: c.id,
    embedDim: E,
    numHeads: H,
    headDim: D / H,
    scale: c.attributes.scale,
    x,
    weights: { inProj: { data: inProj, shape: [D3, E] }, inProjBias: bias, outProj: { data: outProj, shape: [E, D] } },
    expected: expectedOf(c.outputs[0]),
    tolerance: { atol: c.tolerance.atol, rtol: c.tolerance.rtol },
    reshapeOutput: (r) => Float64Array.from({ length: rows * D }, (_, e) => r.data[Math.floor(e / D) * E + (e % D)]),
  };
}

/** Every case as what runs it: an sdpa call, a multi-head layer (ort.Attention), or why neither. */
export function toConformanceCall(c: ConformanceCase): SdpaCall | MhaCall | Unsupported {
  return c.op === 'ort.Attention' ? toMhaCall(c) : toSdpaCall(c);
}

/**
 * The cases that do not run today, each with the reason the mapping gives, in file order. Both rings
 * (test/reference and test/node) fail when the mapped set differs in either direction: a case that
 * drifts into "unsupported", or a listed one that starts running, means this list is updated on purpose.
 * None is left: the 5 float16 cases run since f16 storage (the GPU ring stores their inputs as f16).
 */
export const UNSUPPORTED_CASES: Readonly<Record<string, string>> = {};

/** The float16 cases, which the GPU ring runs on f16 tensors (each with its own fp16 tolerance). */
export const F16_CASES: readonly string[] = [
  'onnx-node/test_attention_24_qk_matmul_output_mode3_softmax_precision',
  'onnx-node/test_attention_4d_fp16',
  'onnx-node/test_attention_4d_gqa_causal_nonpad_decode_fp16',
  'onnx-node/test_attention_4d_gqa_with_past_and_present_fp16',
  'onnx-ref-window/test_attention_local_window_ext_cache_float16_mask',
];

/** The mapped cases that do not run, as id → reason (compare with {@link UNSUPPORTED_CASES}). */
export const unsupportedById = (mapped: (SdpaCall | MhaCall | Unsupported)[]): Record<string, string> =>
  Object.fromEntries(mapped.filter((m): m is Unsupported => 'unsupported' in m).map((u) => [u.id, u.unsupported]));

/** Whether a mapped case runs as a multi-head layer. */
export const isMhaCall = (m: SdpaCall | MhaCall | Unsupported): m is MhaCall => 'embedDim' in m;

function outputReshaper(ran: Layout, want: Layout, bhsdShape: number[]): SdpaCall['reshapeOutput'] {
  return (r) => {
    const flat = Float64Array.from(r.data);
    return ran === want ? flat : swap12(flat, bhsdShape); // only bhsd → bshd occurs
  };
}

/**
 * qk_matmul_output in mode 3 is compared with sdpa's weights; every other output is listed as not
 * compared (present_key/value also as a mapping check, see {@link SdpaCall.mappingChecks}).
 */
function extraOutputs(c: ConformanceCase, outs: CaseTensor[], qkv: Qkv) {
  const res: Pick<SdpaCall, 'expectedWeights' | 'mappingChecks' | 'notCompared'> = {
    mappingChecks: [],
    notCompared: [],
  };
  for (const t of outs) {
    const mode = c.attributes.qk_matmul_output_mode ?? 0;
    if (t.name === 'qk_matmul_output' && mode === 3) res.expectedWeights = expectedOf(t);
    else if (t.name === 'qk_matmul_output')
      res.notCompared.push(
        `qk_matmul_output mode ${mode} (${['scaled scores', 'softcapped scores', 'masked scores'][mode]}): sdpa returns only softmax weights`,
      );
    else if (t.name === 'present_key' || t.name === 'present_value') {
      const hostBuilt = toBhsd(t.name === 'present_key' ? qkv.k : qkv.v, qkv.layout).data;
      res.mappingChecks.push({ name: t.name, hostBuilt, expected: expectedOf(t) });
      res.notCompared.push(`${t.name}: sdpa keeps no KV cache (only the harness's concatenation is checked)`);
    } else res.notCompared.push(`${t.name}: unknown output`);
  }
  return res;
}

/** numpy allclose, element by element: |a − e| ≤ atol + rtol·|e|; ±Infinity must match exactly. */
export function allClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
): { ok: boolean; detail: string } {
  const r = compareArrays(actual, expected, tol.atol, tol.rtol);
  return { ok: r.ok, detail: r.ok ? '' : `${r.message} (atol ${tol.atol}, rtol ${tol.rtol})` };
}
