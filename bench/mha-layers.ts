/**
 * The two layers of the multi-head-attention bench (issue #5) and their float64 check: seeded
 * random weights in PyTorch's nn.Linear layout, and the expected output rows, from
 * `reference.multiHeadAttention` on the whole layer where that is affordable, otherwise from a
 * row-wise reference (reference.linear and reference.sdpa on slices) for a few sampled rows.
 */
import { reference, type HostTensor, type ReferenceMhaConfig } from '../src/index';
import { randomData, sampleRows, type ExpectedRows } from './check';
import { attendedPairs } from './report';

/** One benchmarked layer, self-attention on x [1, L, E]. */
export interface LayerSpec {
  name: string;
  E: number;
  Hq: number;
  Hkv: number;
  hd: number;
  L: number;
  causal: boolean;
  /** inProj [3E, E] / outProj as torch.nn.MultiheadAttention (else separate q, k, v, o). */
  packed: boolean;
  bias: boolean;
  /** GPT-NeoX rotary on every head dim, base 10000. */
  rotary: boolean;
}

/**
 * BERT-base's attention (packed, biases) and a GQA decoder layer (32 q heads, 8 kv heads, causal, NeoX rotary).
 * @example
 * benchLayers(512, 1024).map((s) => s.name); // ['BERT-base', 'GQA decoder']
 */
export function benchLayers(bertL: number, gqaL: number): LayerSpec[] {
  return [
    {
      name: 'BERT-base',
      E: 768,
      Hq: 12,
      Hkv: 12,
      hd: 64,
      L: bertL,
      causal: false,
      packed: true,
      bias: true,
      rotary: false,
    },
    {
      name: 'GQA decoder',
      E: 2048,
      Hq: 32,
      Hkv: 8,
      hd: 64,
      L: gqaL,
      causal: true,
      packed: false,
      bias: false,
      rotary: true,
    },
  ];
}

/** FLOPs of each part of one forward: GEMMs 2·M·N·K, attention 4·B·H·D·(unmasked pairs). */
export function layerFlops(s: LayerSpec): { inProj: number; outProj: number; attention: number; total: number } {
  const inProj = 2 * s.L * (s.Hq + 2 * s.Hkv) * s.hd * s.E;
  const outProj = 2 * s.L * s.E * s.Hq * s.hd;
  const attention = 4 * s.Hq * s.hd * attendedPairs(s.L, s.L, s.causal);
  return { inProj, outProj, attention, total: inProj + outProj + attention };
}

/** q, k, v, o weights [out, in] and optional biases, as host arrays. */
export interface HostWeights {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  o: Float32Array;
  qBias?: Float32Array;
  kBias?: Float32Array;
  vBias?: Float32Array;
  oBias?: Float32Array;
}

/** uniform(−1/√in, 1/√in), nn.Linear's default init, so activations stay O(1) at any width. */
function linearInit(length: number, inDim: number, seed: number): Float32Array {
  const data = randomData(length, seed);
  const bound = 1 / Math.sqrt(inDim);
  for (let i = 0; i < data.length; i++) data[i] *= bound;
  return data;
}

/**
 * Seeded weights of a layer (and the input x [L, E] from seed + 10).
 * @example
 * const { weights, x } = makeLayerData(benchLayers(128, 256)[0], 100);
 */
export function makeLayerData(s: LayerSpec, seed: number): { weights: HostWeights; x: Float32Array } {
  const [qRows, kvRows] = [s.Hq * s.hd, s.Hkv * s.hd];
  const weights: HostWeights = {
    q: linearInit(qRows * s.E, s.E, seed),
    k: linearInit(kvRows * s.E, s.E, seed + 1),
    v: linearInit(kvRows * s.E, s.E, seed + 2),
    o: linearInit(s.E * qRows, qRows, seed + 3),
  };
  if (s.bias) {
    Object.assign(weights, {
      qBias: linearInit(qRows, s.E, seed + 4),
      kBias: linearInit(kvRows, s.E, seed + 5),
      vBias: linearInit(kvRows, s.E, seed + 6),
      oBias: linearInit(s.E, qRows, seed + 7),
    });
  }
  return { weights, x: randomData(s.L * s.E, seed + 10) };
}

/** Concatenates q, k, v rows: torch.nn.MultiheadAttention's inProj [3E, E] (and its bias). */
export function packRows(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Multiply-adds of reference.multiHeadAttention on the whole layer (float64 JS, ~1 per ns at best). */
export const referenceMacs = (s: LayerSpec) => layerFlops(s).total / 2;

function hostConfig(s: LayerSpec, w: HostWeights): ReferenceMhaConfig {
  const t = (data: Float32Array | undefined, shape: number[]): HostTensor | undefined => data && { data, shape };
  const [qRows, kvRows] = [s.Hq * s.hd, s.Hkv * s.hd];
  const weights = {
    q: t(w.q, [qRows, s.E])!,
    k: t(w.k, [kvRows, s.E])!,
    v: t(w.v, [kvRows, s.E])!,
    o: t(w.o, [s.E, qRows])!,
    qBias: t(w.qBias, [qRows]),
    kBias: t(w.kBias, [kvRows]),
    vBias: t(w.vBias, [kvRows]),
    oBias: t(w.oBias, [s.E]),
  };
  return {
    embedDim: s.E,
    numHeads: s.Hq,
    numKvHeads: s.Hkv,
    headDim: s.hd,
    weights,
    rotary: s.rotary ? {} : undefined,
  };
}

/** Every output row, from reference.multiHeadAttention on the whole layer. */
function fullReference(s: LayerSpec, w: HostWeights, x: Float32Array): ExpectedRows {
  const y = reference
    .multiHeadAttention(hostConfig(s, w))
    .forward({ data: x, shape: [1, s.L, s.E] }, { causal: s.causal }).data;
  const rows: ExpectedRows = new Map();
  for (let i = 0; i < s.L; i++) rows.set(i, y.slice(i * s.E, (i + 1) * s.E));
  return rows;
}

/** x [n, inDim] · weightᵀ + bias in float64. */
function project(
  x: Float32Array | Float64Array,
  n: number,
  weight: Float32Array,
  bias: Float32Array | undefined,
  inDim: number,
): Float64Array {
  const outDim = weight.length / inDim;
  return reference.linear(
    { data: x, shape: [n, inDim] },
    { data: weight, shape: [outDim, inDim] },
    bias && { data: bias, shape: [outDim] },
  ).data;
}

/** GPT-NeoX rotary on every head of one token's row [heads·hd] at position `pos`, in place. */
function rotate(row: Float64Array, hd: number, pos: number): void {
  const half = hd / 2;
  for (let at = 0; at < row.length; at += hd) {
    for (let i = 0; i < half; i++) {
      const angle = pos * 10000 ** ((-2 * i) / hd);
      const [cos, sin, a, b] = [Math.cos(angle), Math.sin(angle), row[at + i], row[at + i + half]];
      row[at + i] = a * cos - b * sin;
      row[at + i + half] = a * sin + b * cos;
    }
  }
}

/**
 * Output rows `rows` alone: k and v of the keys they see (all of them, or 0…max row when causal),
 * q of each row, reference.sdpa of that row against its keys, the output projection.
 */
function rowsReference(s: LayerSpec, w: HostWeights, x: Float32Array, rows: readonly number[]): ExpectedRows {
  const keys = s.causal ? Math.max(...rows) + 1 : s.L;
  const kvDim = s.Hkv * s.hd;
  const xs = x.subarray(0, keys * s.E);
  const [k, v] = [project(xs, keys, w.k, w.kBias, s.E), project(xs, keys, w.v, w.vBias, s.E)];
  if (s.rotary) for (let j = 0; j < keys; j++) rotate(k.subarray(j * kvDim, (j + 1) * kvDim), s.hd, j);
  const expected: ExpectedRows = new Map();
  for (const i of rows) {
    const q = project(x.subarray(i * s.E, (i + 1) * s.E), 1, w.q, w.qBias, s.E);
    if (s.rotary) rotate(q, s.hd, i);
    const n = s.causal ? i + 1 : s.L;
    const kv = (t: Float64Array): HostTensor => ({ data: t.subarray(0, n * kvDim), shape: [1, n, s.Hkv, s.hd] });
    const heads = reference.sdpa({ data: q, shape: [1, 1, s.Hq, s.hd] }, kv(k), kv(v), { layout: 'bshd' });
    expected.set(i, project(heads.data, 1, w.o, w.oBias, s.Hq * s.hd));
  }
  return expected;
}

/**
 * Expected output rows: the whole layer when its reference costs at most `maxMacs`, else 8 sampled rows.
 * @example
 * const { expected, checked } = expectedRows(spec, weights, x, 4e9); // checked: 'full' or '8 rows'
 */
export function expectedRows(
  s: LayerSpec,
  w: HostWeights,
  x: Float32Array,
  maxMacs: number,
): { expected: ExpectedRows; checked: string } {
  if (referenceMacs(s) <= maxMacs) return { expected: fullReference(s, w, x), checked: 'full' };
  const rows = sampleRows(s.L);
  return { expected: rowsReference(s, w, x, rows), checked: `${rows.length} rows` };
}

/** Worst |got − ref| / (2e-5 + 1e-4·|ref|) over the expected rows of y [L, E]; NaN fails (Infinity). */
export function worstRowError(got: ArrayLike<number>, expected: ExpectedRows, E: number): number {
  let worst = 0;
  for (const [i, row] of expected) {
    for (let e = 0; e < E; e++) {
      const ratio = Math.abs(got[i * E + e] - row[e]) / (2e-5 + 1e-4 * Math.abs(row[e]));
      worst = Number.isNaN(ratio) ? Infinity : Math.max(worst, ratio);
    }
  }
  return worst;
}
