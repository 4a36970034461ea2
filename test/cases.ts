/**
 * The one table of named attention cases that feeds every ring (reference, Node GPU, browser).
 * Data is generated deterministically from the case name, so every ring sees the same numbers.
 */
import type { Alignment, HostTensor, Layout, SdpaOptionsOf, SlidingWindow } from '../src/contract/types';
import { roundF16 } from '../src/contract/f16';
import { sparsePatterns } from '../src/contract/sparse-patterns';
import type { BlockMask, Normalization } from '../src/contract/variants';

export interface MaskSpec {
  kind: 'float' | 'bool';
  /** Broadcast shape, rank 2–4, each dim 1 or the full size of [B, Hq, Lq, Lk] (right-aligned). */
  shape: number[];
  /** `random`: random keys removed / random additive values with some −Infinity.
   *  `dead-rows`: like random, but every third query row has no key at all. */
  fill: 'random' | 'dead-rows';
}

export interface SdpaCase {
  name: string;
  B: number;
  Hq: number;
  Hkv: number;
  Lq: number;
  Lk: number;
  D: number;
  Dv: number;
  layout?: Layout;
  causal?: boolean;
  alignment?: Alignment;
  softcap?: number;
  scale?: number;
  mask?: MaskSpec;
  /** Multiplies q so scores reach ±magnitude (e.g. 1e4 to test overflow). */
  scoreMagnitude?: number;
  returnLse?: boolean;
  window?: SlidingWindow;
  dilation?: number;
  globalTokens?: number[];
  /** Inputs stored as f16 on the GPU: their host data is rounded to f16 first, so the reference sees the same values. */
  f16?: ('q' | 'k' | 'v' | 'mask')[];
  normalization?: Normalization;
  sigmoidBias?: number;
  topK?: number;
  blockMask?: BlockMask;
}

/** The call options of a case (mask and outputs aside); absent fields are left out, not undefined. */
export function caseOptions(c: SdpaCase): SdpaOptionsOf<never> {
  const o: Record<string, unknown> = {
    causal: c.causal,
    alignment: c.alignment,
    softcap: c.softcap,
    scale: c.scale,
    layout: c.layout,
    window: c.window,
    dilation: c.dilation,
    globalTokens: c.globalTokens,
    normalization: c.normalization,
    sigmoidBias: c.sigmoidBias,
    topK: c.topK,
    blockMask: c.blockMask,
  };
  for (const key of Object.keys(o)) if (o[key] === undefined) delete o[key];
  return o as SdpaOptionsOf<never>;
}

/** Deterministic PRNG (mulberry32) seeded from a string. */
export function rng(seedText: string): () => number {
  let seed = 2166136261;
  for (let i = 0; i < seedText.length; i++) seed = Math.imul(seed ^ seedText.charCodeAt(i), 16777619);
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomFloats(n: number, next: () => number, amplitude = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (next() * 2 - 1) * amplitude;
  return out;
}

/** Shape of q / k / v / output for a case, in its layout. */
export function shapeOf(c: SdpaCase, heads: number, length: number, dim: number): number[] {
  return c.layout === 'bshd' ? [c.B, length, heads, dim] : [c.B, heads, length, dim];
}

function maskData(spec: MaskSpec, next: () => number): Float32Array | Uint8Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const rows = n / spec.shape[spec.shape.length - 1];
  const cols = spec.shape[spec.shape.length - 1];
  const out = spec.kind === 'bool' ? new Uint8Array(n) : new Float32Array(n);
  for (let r = 0; r < rows; r++) {
    const dead = spec.fill === 'dead-rows' && r % 3 === 1;
    for (let c = 0; c < cols; c++) {
      const drop = dead || next() < 0.25;
      if (spec.kind === 'bool') out[r * cols + c] = drop ? 0 : 1;
      else out[r * cols + c] = drop ? -Infinity : (next() * 2 - 1) * 2;
    }
  }
  return out;
}

export interface CaseData {
  q: HostTensor;
  k: HostTensor;
  v: HostTensor;
  mask?: HostTensor;
  /** The GPU storage type of each float input ('f16' where the case says so). */
  dtypes: { q: 'f32' | 'f16'; k: 'f32' | 'f16'; v: 'f32' | 'f16'; mask: 'f32' | 'f16' };
}

/** Float data rounded to f16 (still a Float32Array: every f16 is a float32); booleans as they are. */
const toHalves = <T extends Float32Array | Uint8Array>(data: T): T =>
  (data instanceof Float32Array ? data.map(roundF16) : data) as T;

/** The inputs of a case, as host tensors in the case's layout. */
export function caseData(c: SdpaCase): CaseData {
  const next = rng(c.name);
  const qAmp = c.scoreMagnitude ? Math.sqrt((c.scoreMagnitude * Math.sqrt(c.D)) / c.D) * 2 : 1;
  const kAmp = c.scoreMagnitude ? qAmp : 1;
  const qShape = shapeOf(c, c.Hq, c.Lq, c.D);
  const kShape = shapeOf(c, c.Hkv, c.Lk, c.D);
  const vShape = shapeOf(c, c.Hkv, c.Lk, c.Dv);
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const half = (name: 'q' | 'k' | 'v' | 'mask') => (c.f16?.includes(name) ? 'f16' : 'f32');
  const stored = <T extends Float32Array | Uint8Array>(name: 'q' | 'k' | 'v' | 'mask', data: T) =>
    half(name) === 'f16' ? toHalves(data) : data;
  const q = { data: stored('q', randomFloats(size(qShape), next, qAmp)), shape: qShape };
  const k = { data: stored('k', randomFloats(size(kShape), next, kAmp)), shape: kShape };
  const v = { data: stored('v', randomFloats(size(vShape), next)), shape: vShape };
  const mask = c.mask ? { data: stored('mask', maskData(c.mask, next)), shape: c.mask.shape } : undefined;
  return { q, k, v, mask, dtypes: { q: half('q'), k: half('k'), v: half('v'), mask: half('mask') } };
}

function base(name: string, p: Partial<SdpaCase>): SdpaCase {
  return { name, B: 1, Hq: 1, Hkv: 1, Lq: 7, Lk: 7, D: 8, Dv: 8, ...p };
}

/** Sizes along L and D that the spine's table must cover. */
export const LENGTHS = [1, 7, 33, 100, 257, 1024];
export const HEAD_DIMS = [1, 8, 32, 64, 80, 128, 256];

/** The case table. Sized so that the whole table runs in well under a minute on SwiftShader. */
export const CASES: SdpaCase[] = [
  ...LENGTHS.map((L) => base(`L=${L} D=32`, { Lq: L, Lk: L, D: 32, Dv: 32 })),
  ...HEAD_DIMS.map((D) => base(`D=${D} L=33`, { Lq: 33, Lk: 33, D, Dv: D })),
  base('L=1024 D=64 causal', { Lq: 1024, Lk: 1024, D: 64, Dv: 64, causal: true }),
  base('D=256 L=100 B=2', { B: 2, Lq: 100, Lk: 100, D: 256, Dv: 256 }),
  base('Dv=24 D=40', { Lq: 33, Lk: 40, D: 40, Dv: 24 }),
  // Q·Kᵀ in 8 × 8 blocks of invocation pairs (Dv = 64's 32 invocations), d's 9 vec4s split 4 / 5.
  base('Dv=64 D=36 causal Lq=70 Lk=75 lse', { Lq: 70, Lk: 75, D: 36, Dv: 64, causal: true, returnLse: true }),
  base('Dv=1 D=64', { Lq: 9, Lk: 9, D: 64, Dv: 1 }),
  base('Dv=256 D=8', { Lq: 17, Lk: 65, D: 8, Dv: 256 }),
  base('Lq=7 Lk=33', { Lq: 7, Lk: 33, D: 16, Dv: 16 }),
  base('Lq=100 Lk=7', { Lq: 100, Lk: 7, D: 16, Dv: 16 }),
  base('Lq=1 Lk=257 decode', { Lq: 1, Lk: 257, D: 64, Dv: 64 }),
  // f16 storage (two halves a word; odd dims start rows inside a word), mixed with f32 inputs.
  base('f16 q k v D=13 Dv=7 causal Lq=37', { Lq: 37, Lk: 37, D: 13, Dv: 7, causal: true, f16: ['q', 'k', 'v'] }),
  base('f16 k v, f32 q, GQA 4/2 bshd, softcap, f16 float mask', {
    B: 2,
    Hq: 4,
    Hkv: 2,
    Lq: 20,
    Lk: 33,
    D: 32,
    Dv: 16,
    layout: 'bshd',
    softcap: 3,
    mask: { kind: 'float', shape: [2, 1, 20, 33], fill: 'dead-rows' },
    f16: ['k', 'v', 'mask'],
    returnLse: true,
  }),
  base('f16 q, f32 k v, decode Lq=1 Lk=1000 GQA 8/2 D=64 (split keys)', {
    Hq: 8,
    Hkv: 2,
    Lq: 1,
    Lk: 1000,
    D: 64,
    Dv: 64,
    f16: ['q'],
    returnLse: true,
  }),
  base('f16 v, window 5/2 dilation 2, bool mask, D=6', {
    Lq: 30,
    Lk: 30,
    D: 6,
    Dv: 10,
    window: { left: 5, right: 2 },
    dilation: 2,
    mask: { kind: 'bool', shape: [30, 30], fill: 'random' },
    f16: ['v'],
  }),
  base('B=2 H=3', { B: 2, Hq: 3, Hkv: 3, Lq: 20, Lk: 20, D: 16, Dv: 16 }),
  base('GQA Hq=4 Hkv=2', { B: 2, Hq: 4, Hkv: 2, Lq: 33, Lk: 33, D: 32, Dv: 32 }),
  base('MQA Hq=4 Hkv=1', { Hq: 4, Hkv: 1, Lq: 33, Lk: 40, D: 32, Dv: 32 }),
  base('layout bshd GQA', { B: 2, Hq: 4, Hkv: 2, Lq: 33, Lk: 21, D: 32, Dv: 16, layout: 'bshd' }),
  // Blocks whose rows cross heads several times (Lq = 5, blocks of 16 packed rows): every row has
  // its own head and query; the per-head mask checks the heads.
  base('GQA 8/2 Lq=5 Lk=9 causal lower-right, per-head float mask', {
    B: 2,
    Hq: 8,
    Hkv: 2,
    Lq: 5,
    Lk: 9,
    D: 8,
    Dv: 8,
    causal: true,
    alignment: 'lower-right',
    mask: { kind: 'float', shape: [1, 8, 5, 9], fill: 'random' },
  }),
  // Enough (batch, head) pairs that the plan pairs blocks (src/ops/sdpa/plan.ts, pairBlocks): 3 blocks
  // a head, so one workgroup runs the first and the partial last, another the middle alone.
  base('paired blocks B=8 H=16 Lq=Lk=80 D=8 causal', {
    B: 8,
    Hq: 16,
    Hkv: 16,
    Lq: 80,
    Lk: 80,
    D: 8,
    Dv: 8,
    causal: true,
  }),
  base('layout bshd causal', { Hq: 2, Hkv: 2, Lq: 40, Lk: 40, D: 8, Dv: 8, layout: 'bshd', causal: true }),
  base('causal upper-left Lq=7 Lk=33', { Lq: 7, Lk: 33, D: 16, Dv: 16, causal: true }),
  base('causal lower-right Lq=7 Lk=33 D=80', { Lq: 7, Lk: 33, D: 80, Dv: 80, causal: true, alignment: 'lower-right' }),
  base('causal upper-left Lq=33 Lk=7', { Lq: 33, Lk: 7, D: 16, Dv: 16, causal: true }),
  base('causal lower-right Lq=33 Lk=7 (dead rows)', {
    Lq: 33,
    Lk: 7,
    D: 16,
    Dv: 16,
    causal: true,
    alignment: 'lower-right',
    returnLse: true,
  }),
  base('causal L=257 D=64', { Lq: 257, Lk: 257, D: 64, Dv: 64, causal: true }),
  base('float mask full shape', {
    B: 2,
    Hq: 2,
    Hkv: 2,
    Lq: 33,
    Lk: 33,
    D: 16,
    Dv: 16,
    mask: { kind: 'float', shape: [2, 2, 33, 33], fill: 'random' },
  }),
  base('bool mask broadcast [1,1,Lq,Lk]', {
    B: 2,
    Hq: 2,
    Hkv: 2,
    Lq: 33,
    Lk: 40,
    D: 16,
    Dv: 16,
    mask: { kind: 'bool', shape: [1, 1, 33, 40], fill: 'random' },
  }),
  base('bool mask key padding [B,1,1,Lk]', {
    B: 2,
    Hq: 2,
    Hkv: 1,
    Lq: 20,
    Lk: 40,
    D: 16,
    Dv: 16,
    mask: { kind: 'bool', shape: [2, 1, 1, 40], fill: 'random' },
  }),
  base('float mask 2-D [Lq,Lk] causal', {
    Hq: 2,
    Hkv: 2,
    Lq: 33,
    Lk: 33,
    D: 16,
    Dv: 16,
    causal: true,
    mask: { kind: 'float', shape: [33, 33], fill: 'random' },
  }),
  base('float mask per head [1,H,Lq,Lk]', {
    B: 2,
    Hq: 2,
    Hkv: 2,
    Lq: 9,
    Lk: 70,
    D: 8,
    Dv: 8,
    mask: { kind: 'float', shape: [1, 2, 9, 70], fill: 'random' },
  }),
  base('fully masked rows (bool)', {
    Lq: 33,
    Lk: 33,
    D: 16,
    Dv: 16,
    mask: { kind: 'bool', shape: [33, 33], fill: 'dead-rows' },
    returnLse: true,
  }),
  base('fully masked rows (float -inf)', {
    Lq: 33,
    Lk: 65,
    D: 16,
    Dv: 16,
    mask: { kind: 'float', shape: [33, 65], fill: 'dead-rows' },
  }),
  base('softcap 5', { Lq: 33, Lk: 33, D: 32, Dv: 32, softcap: 5, scoreMagnitude: 50 }),
  base('softcap with mask and causal', {
    Lq: 33,
    Lk: 33,
    D: 32,
    Dv: 32,
    softcap: 2,
    causal: true,
    mask: { kind: 'float', shape: [33, 33], fill: 'random' },
  }),
  base('scale 0.5', { Lq: 33, Lk: 33, D: 32, Dv: 32, scale: 0.5 }),
  base('scores ±1e4', { Lq: 33, Lk: 70, D: 32, Dv: 32, scoreMagnitude: 1e4 }),
  base('scores ±1e4 causal lse', { Lq: 33, Lk: 33, D: 64, Dv: 64, scoreMagnitude: 1e4, causal: true, returnLse: true }),
  base('lse D=64', { B: 2, Hq: 2, Hkv: 2, Lq: 65, Lk: 100, D: 64, Dv: 64, returnLse: true }),
  ...WINDOW_CASES(),
  ...VARIANT_CASES(),
];

/** Sigmoid, top-k and block-sparse attention (docs/semantics.md §6b), odd sizes. */
function VARIANT_CASES(): SdpaCase[] {
  return [
    base('sigmoid causal GQA 4/2 L=77 D=40', {
      Hq: 4,
      Hkv: 2,
      Lq: 77,
      Lk: 77,
      D: 40,
      Dv: 40,
      causal: true,
      normalization: 'sigmoid',
    }),
    base('hard attention (topK 1) bool mask', {
      Lq: 33,
      Lk: 50,
      D: 16,
      Dv: 16,
      topK: 1,
      returnLse: true,
      mask: { kind: 'bool', shape: [33, 50], fill: 'random' },
    }),
    base('topK 9 window 20/20 L=100', {
      Hq: 2,
      Hkv: 1,
      Lq: 100,
      Lk: 100,
      D: 16,
      Dv: 8,
      topK: 9,
      window: { left: 20, right: 20 },
    }),
    base('block-sparse BigBird 16-token blocks L=150', {
      Hq: 2,
      Hkv: 2,
      Lq: 150,
      Lk: 150,
      D: 16,
      Dv: 16,
      returnLse: true,
      blockMask: sparsePatterns.bigBird({ length: 150, blockSize: 16, window: 3, global: 1, random: 2, seed: 5 }),
    }),
  ];
}

/** Sliding windows, dilation and global tokens (issue #4). Few distinct head dims: each costs compiles. */
function WINDOW_CASES(): SdpaCase[] {
  const w = (left: number, right: number) => ({ window: { left, right } });
  return [
    base('window 0/0 (itself only) L=33', { Lq: 33, Lk: 33, D: 16, Dv: 16, ...w(0, 0), returnLse: true }),
    base('window 1/1 L=33', { Lq: 33, Lk: 33, D: 16, Dv: 16, ...w(1, 1) }),
    base('window 3/5 L=257 D=32', { Lq: 257, Lk: 257, D: 32, Dv: 32, ...w(3, 5) }),
    base('window 300/300 ≥ L L=257 D=32', { Lq: 257, Lk: 257, D: 32, Dv: 32, ...w(300, 300) }),
    base('window 64/64 L=1024 D=32', { Lq: 1024, Lk: 1024, D: 32, Dv: 32, ...w(64, 64) }),
    base('window unbounded left (-1/2) L=65', { Lq: 65, Lk: 65, D: 16, Dv: 16, ...w(-1, 2) }),
    base('window unbounded right (4/-1) L=65', { Lq: 65, Lk: 65, D: 16, Dv: 16, ...w(4, -1) }),
    base('Mistral causal window 15/0 L=101', {
      Lq: 101,
      Lk: 101,
      D: 16,
      Dv: 16,
      causal: true,
      ...w(15, 0),
      returnLse: true,
    }),
    base('window upper-left Lq=33 Lk=70 4/9', { Lq: 33, Lk: 70, D: 16, Dv: 16, ...w(4, 9) }),
    base('window causal lower-right Lq=7 Lk=70 20/0', {
      Lq: 7,
      Lk: 70,
      D: 16,
      Dv: 16,
      causal: true,
      alignment: 'lower-right',
      ...w(20, 0),
    }),
    base('window lower-right Lq=33 Lk=7 2/0 (dead rows)', {
      Lq: 33,
      Lk: 7,
      D: 16,
      Dv: 16,
      alignment: 'lower-right',
      ...w(2, 0),
      returnLse: true,
    }),
    base('dilation 2 window 4/4 L=65', { Lq: 65, Lk: 65, D: 16, Dv: 16, ...w(4, 4), dilation: 2 }),
    base('dilation 3 causal window 5/0 L=100', {
      Lq: 100,
      Lk: 100,
      D: 16,
      Dv: 16,
      causal: true,
      ...w(5, 0),
      dilation: 3,
    }),
    base('dilation 4 no window L=33', { Lq: 33, Lk: 33, D: 16, Dv: 16, dilation: 4 }),
    base('window GQA bshd bool mask 3/3', {
      B: 2,
      Hq: 4,
      Hkv: 2,
      Lq: 40,
      Lk: 40,
      D: 16,
      Dv: 16,
      layout: 'bshd',
      ...w(3, 3),
      mask: { kind: 'bool', shape: [2, 1, 1, 40], fill: 'random' },
    }),
    base('window softcap float mask 6/2', {
      Lq: 33,
      Lk: 33,
      D: 16,
      Dv: 16,
      softcap: 2,
      ...w(6, 2),
      mask: { kind: 'float', shape: [33, 33], fill: 'random' },
    }),
    base('global tokens [0, 40] window 2/2 L=100', {
      Lq: 100,
      Lk: 100,
      D: 16,
      Dv: 16,
      ...w(2, 2),
      globalTokens: [0, 40],
      returnLse: true,
    }),
    base('global tokens causal dilation 2 L=257 D=32', {
      Lq: 257,
      Lk: 257,
      D: 32,
      Dv: 32,
      causal: true,
      ...w(8, 0),
      dilation: 2,
      globalTokens: [3, 100, 200],
    }),
  ];
}
