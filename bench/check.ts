/**
 * Inputs and correctness checks for the bench. Every timed GPU result is compared with the float64
 * reference first: the whole output where the reference itself is timed, otherwise a few sampled
 * query rows (the reference on one row costs H·Lk·D·4 flops, so this stays cheap at any L).
 */
import { reference, type HostTensor } from '../src/index';

export interface Inputs {
  heads: number;
  length: number;
  headDim: number;
  /** [1, H, L, D] (bhsd), what attn.sdpa gets. */
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
}

/** Deterministic uniform(−1, 1) values (mulberry32). */
/** A host tensor of `shape` filled with randomData(…, seed) times `scale`. */
export function randomHost(seed: number, shape: number[], scale = 1): HostTensor & { data: Float32Array } {
  return {
    data: randomData(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ).map((x) => x * scale),
    shape,
  };
}

export function randomData(length: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

export function makeInputs(heads: number, length: number, headDim: number): Inputs {
  const n = heads * length * headDim;
  return { heads, length, headDim, q: randomData(n, 1), k: randomData(n, 2), v: randomData(n, 3) };
}

/** [1, H, L, D] ↔ [1, L, H, D]: the same transpose both ways. */
export function swapHeadsAndRows(data: ArrayLike<number>, outer: number, inner: number, dim: number): Float32Array {
  const out = new Float32Array(outer * inner * dim);
  for (let a = 0; a < outer; a++) {
    for (let b = 0; b < inner; b++) {
      for (let d = 0; d < dim; d++) out[(b * outer + a) * dim + d] = data[(a * inner + b) * dim + d];
    }
  }
  return out;
}

/** Expected output rows: row index → [H·D] values in bhsd order (head-major). */
export type ExpectedRows = Map<number, Float64Array>;

/** Query rows to check when the full reference is not computed: first, last and a spread between. */
export function sampleRows(length: number, count = 8): number[] {
  const rows = new Set<number>([0, length - 1]);
  for (let i = 1; i < count - 1; i++) rows.add(Math.floor((i * length) / (count - 1)));
  return [...rows].sort((a, b) => a - b);
}

/** Slices keys [first, end) of every head of a [1, H, L, D] tensor. */
function keyRange(data: Float32Array, inputs: Inputs, first: number, end: number): Float32Array {
  const { heads, length, headDim } = inputs;
  const out = new Float32Array(heads * (end - first) * headDim);
  for (let h = 0; h < heads; h++)
    out.set(data.subarray((h * length + first) * headDim, (h * length + end) * headDim), h * (end - first) * headDim);
  return out;
}

/**
 * reference.sdpa on single query rows: row i alone against the keys [first, end) it may see,
 * which is exactly row i of the full attention whose allowed keys for row i are that range:
 * [0, i] (causal, upper-left), everything, or a sliding window's band (`keys`).
 */
export function referenceRows(
  inputs: Inputs,
  causal: boolean,
  rows: readonly number[],
  keys?: (i: number) => [number, number],
): ExpectedRows {
  const { heads, length, headDim } = inputs;
  const expected: ExpectedRows = new Map();
  for (const i of rows) {
    const [first, end] = keys ? keys(i) : [0, causal ? i + 1 : length];
    const q = new Float32Array(heads * headDim);
    for (let h = 0; h < heads; h++)
      q.set(inputs.q.subarray((h * length + i) * headDim, (h * length + i + 1) * headDim), h * headDim);
    const shape = (l: number) => [1, heads, l, headDim];
    const n = end - first;
    const out = reference.sdpa(
      { data: q, shape: shape(1) },
      { data: keyRange(inputs.k, inputs, first, end), shape: shape(n) },
      { data: keyRange(inputs.v, inputs, first, end), shape: shape(n) },
    );
    expected.set(i, out.data);
  }
  return expected;
}

/** All rows of a full reference output [1, H, L, D]. */
export function rowsOfFull(full: Float64Array, inputs: Inputs): ExpectedRows {
  const { heads, length, headDim } = inputs;
  const expected: ExpectedRows = new Map();
  for (let i = 0; i < length; i++) {
    const row = new Float64Array(heads * headDim);
    for (let h = 0; h < heads; h++)
      row.set(full.subarray((h * length + i) * headDim, (h * length + i + 1) * headDim), h * headDim);
    expected.set(i, row);
  }
  return expected;
}

/**
 * The worst |got − ref| / (2e-5 + 1e-4·|ref|) over the expected rows (the f32 tolerance of docs/semantics.md §10):
 * ≤ 1 passes. `got` is [1, H, L, D]. NaN counts as a failure (Infinity).
 */
export function worstError(
  got: ArrayLike<number>,
  expected: ExpectedRows,
  inputs: Pick<Inputs, 'heads' | 'length' | 'headDim'>,
): number {
  const { heads, length, headDim } = inputs;
  let worst = 0;
  for (const [i, row] of expected) {
    for (let h = 0; h < heads; h++) {
      for (let d = 0; d < headDim; d++) {
        const ref = row[h * headDim + d];
        const ratio = Math.abs(got[(h * length + i) * headDim + d] - ref) / (2e-5 + 1e-4 * Math.abs(ref));
        worst = Number.isNaN(ratio) ? Infinity : Math.max(worst, ratio);
      }
    }
  }
  return worst;
}
