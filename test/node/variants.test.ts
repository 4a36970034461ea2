/**
 * Variations of sdpa on the GPU against the float64 reference (docs/semantics.md §6b): sigmoid
 * attention, top-k and hard attention (the flash kernel's private lists up to 32 keys, the naive
 * kernel's threshold search past that), block-sparse attention (tiles off never loaded), alone and
 * with causal, windows, masks, GQA, ALiBi, bshd and odd sizes (L = 77, D = 40, blocks that do not
 * divide L); ties, NaN and rows with no key; the bad-input matrix.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  alibiSlopes,
  createAttention,
  reference,
  sparsePatterns,
  type AttentionContext,
  type GpuTensor,
  type HostTensor,
  type SdpaOptions,
} from '../../src/index';
import { rng } from '../cases';
import { compareArrays } from '../helpers/compare';
import { nodeGpu } from '../helpers/node-gpu';
import { expectRejectedOn } from '../helpers/rejections';

let attn: AttentionContext;
beforeAll(async () => {
  attn = await createAttention({ gpu: await nodeGpu() });
});
afterAll(() => attn?.destroy());

interface VariantCase {
  name: string;
  B?: number;
  Hq: number;
  Hkv: number;
  Lq: number;
  Lk: number;
  D: number;
  Dv?: number;
  options: Omit<SdpaOptions, 'mask' | 'tile'>;
  /** A boolean mask [Lq, Lk] from (i, j). */
  mask?: (i: number, j: number) => boolean;
  /** Quantise q and k so that many scores tie. */
  ties?: boolean;
}

function host(seed: string, shape: number[], ties = false): HostTensor & { data: Float32Array } {
  const next = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, () => (ties ? Math.round(next() * 3) : 2 * next() - 1)), shape };
}

const blocks = (Lq: number, Lk: number, bq: number, bk: number, on: (qb: number, kb: number) => boolean) => {
  const [nq, nk] = [Math.ceil(Lq / bq), Math.ceil(Lk / bk)];
  const data = new Uint8Array(nq * nk);
  for (let a = 0; a < nq; a++) for (let c = 0; c < nk; c++) data[a * nk + c] = on(a, c) ? 1 : 0;
  return { mask: { data, shape: [1, 1, nq, nk] }, blockSize: [bq, bk] as [number, number] };
};

const CASES: VariantCase[] = [
  { name: 'sigmoid, L=77 D=40', Hq: 2, Hkv: 2, Lq: 77, Lk: 77, D: 40, options: { normalization: 'sigmoid' } },
  {
    name: 'sigmoid, causal, GQA 4/2, bias 0.5, bool mask',
    Hq: 4,
    Hkv: 2,
    Lq: 33,
    Lk: 50,
    D: 16,
    options: { normalization: 'sigmoid', sigmoidBias: 0.5, causal: true, alignment: 'lower-right' },
    mask: (i, j) => (i + j) % 7 !== 0,
  },
  {
    name: 'sigmoid, window 5/3, ALiBi, bshd',
    Hq: 3,
    Hkv: 1,
    Lq: 40,
    Lk: 40,
    D: 8,
    options: { normalization: 'sigmoid', window: { left: 5, right: 3 }, alibiSlopes: alibiSlopes(3), layout: 'bshd' },
  },
  { name: 'hard attention (topK 1), L=77 D=40', Hq: 2, Hkv: 1, Lq: 77, Lk: 77, D: 40, options: { topK: 1 } },
  {
    name: 'topK 5, causal (rows with fewer keys keep them all), GQA 4/2',
    Hq: 4,
    Hkv: 2,
    Lq: 30,
    Lk: 30,
    D: 12,
    options: { topK: 5, causal: true, returnLse: true },
  },
  {
    name: 'topK 7 with many ties (quantised q, k): ties to the lower key',
    Hq: 2,
    Hkv: 2,
    Lq: 20,
    Lk: 45,
    D: 4,
    ties: true,
    options: { topK: 7, returnLse: true },
  },
  {
    name: 'topK 32 (the flash lists full), window and bool mask',
    Hq: 1,
    Hkv: 1,
    Lq: 19,
    Lk: 200,
    D: 16,
    options: { topK: 32, window: { left: 60, right: 20 } },
    mask: (i, j) => j % 5 !== 2,
  },
  { name: 'topK 40 (naive path), Lk 90', Hq: 2, Hkv: 1, Lq: 11, Lk: 90, D: 8, options: { topK: 40, returnLse: true } },
  {
    name: 'block-sparse 16×16 diagonal + first column, L=77 (blocks do not divide L)',
    Hq: 2,
    Hkv: 1,
    Lq: 77,
    Lk: 77,
    D: 40,
    options: { blockMask: blocks(77, 77, 16, 16, (a, c) => a === c || c === 0), returnLse: true },
  },
  {
    name: 'block-sparse 8×24, causal, GQA 4/2, with topK 3',
    Hq: 4,
    Hkv: 2,
    Lq: 50,
    Lk: 70,
    D: 8,
    options: { causal: true, topK: 3, blockMask: blocks(50, 70, 8, 24, (a, c) => (a + c) % 3 !== 1) },
  },
  {
    name: 'block-sparse strided pattern, sigmoid, B=2',
    B: 2,
    Hq: 2,
    Hkv: 2,
    Lq: 64,
    Lk: 64,
    D: 8,
    options: { normalization: 'sigmoid', blockMask: sparsePatterns.strided({ length: 64, blockSize: 8, stride: 3 }) },
  },
];

async function runCase(c: VariantCase): Promise<void> {
  const B = c.B ?? 1;
  const Dv = c.Dv ?? c.D;
  const bshd = c.options.layout === 'bshd';
  const shape = (H: number, L: number, D: number) => (bshd ? [B, L, H, D] : [B, H, L, D]);
  const q = host(`${c.name} q`, shape(c.Hq, c.Lq, c.D), c.ties);
  const k = host(`${c.name} k`, shape(c.Hkv, c.Lk, c.D), c.ties);
  const v = host(`${c.name} v`, shape(c.Hkv, c.Lk, Dv));
  const maskData =
    c.mask && Uint8Array.from({ length: c.Lq * c.Lk }, (_, e) => +c.mask!(Math.floor(e / c.Lk), e % c.Lk));
  const hostMask = maskData && { data: maskData, shape: [c.Lq, c.Lk] };
  const want = reference.sdpa(q, k, v, {
    ...c.options,
    mask: hostMask,
    returnLse: c.options.returnLse,
    returnWeights: true,
  });
  const owned: { destroy(): void }[] = [];
  const put = (t: HostTensor) => owned[owned.push(attn.tensor(t.data as Float32Array, [...t.shape])) - 1] as GpuTensor;
  const [qT, kT, vT] = [put(q), put(k), put(v)];
  const mask = maskData && owned[owned.push(attn.mask(maskData, [c.Lq, c.Lk])) - 1];
  const options = { ...c.options, mask: mask as never };
  const flash = attn.sdpa(qT, kT, vT, options);
  const naive = attn.sdpaNaive(qT, kT, vT, { ...options, returnWeights: true });
  const out = (r: unknown) => ('output' in (r as object) ? (r as { output: GpuTensor }).output : (r as GpuTensor));
  for (const [what, r] of [
    ['flash', flash],
    ['naive', naive],
  ] as const) {
    const got = compareArrays(await out(r).read(), want.output.data);
    expect(got.ok, `${what} output: ${got.message}`).toBe(true);
    if (c.options.returnLse) {
      const lse = compareArrays(await (r as { lse: GpuTensor }).lse.read(), want.lse!.data);
      expect(lse.ok, `${what} lse: ${lse.message}`).toBe(true);
    }
  }
  const weights = compareArrays(await (naive as { weights: GpuTensor }).weights.read(), want.weights!.data);
  expect(weights.ok, `naive weights: ${weights.message}`).toBe(true);
  for (const r of [flash, naive]) {
    for (const t of Object.values('output' in (r as object) ? (r as object) : { o: r })) (t as GpuTensor).destroy();
  }
  owned.forEach((t) => t.destroy());
}

describe('sdpa variations against the reference (flash and naive)', () => {
  for (const c of CASES) it(c.name, () => runCase(c));
});

describe('bad input to the variations', () => {
  it('refuses unknown normalisations, bad biases, topK < 1, sigmoid with sinks/topK/lse, and block masks of the wrong shape', () => {
    const t = attn.tensor(new Float32Array(2 * 10 * 8), [1, 2, 10, 8]);
    const bad: [Record<string, unknown>, string, string][] = [
      [{ normalization: 'relu' }, 'options.normalization', "'sigmoid'"],
      [{ normalization: 'sigmoid', sigmoidBias: Infinity }, 'options.sigmoidBias', 'finite'],
      [{ sigmoidBias: 1 }, 'options.sigmoidBias', "normalization: 'sigmoid'"],
      [{ topK: 0 }, 'options.topK', 'positive integer'],
      [{ topK: 2.5 }, 'options.topK', 'positive integer'],
      [{ normalization: 'sigmoid', topK: 2 }, 'options.topK', 'absent'],
      [{ normalization: 'sigmoid', sinks: [0, 0] }, 'options.sinks', 'absent'],
      [{ normalization: 'sigmoid', returnLse: true }, 'options.returnLse', 'false'],
      [{ topK: 2, sinks: [0, 0] }, 'options.sinks', 'topK'],
      [{ blockMask: blocks(10, 10, 4, 4, () => true), topK: 1 }, '', ''],
      [
        { blockMask: { ...blocks(10, 10, 4, 4, () => true), blockSize: [4, 0] } },
        'options.blockMask.blockSize',
        '[bq, bk]',
      ],
      [{ blockMask: blocks(10, 10, 5, 4, () => true) }, '', ''],
      [
        { blockMask: { mask: { data: new Uint8Array(9), shape: [1, 1, 3, 3] }, blockSize: [5, 5] } },
        'options.blockMask.mask',
        '[1|1, 2|1, 2, 2]',
      ],
      [
        { blockMask: { mask: { data: new Uint8Array(8), shape: [1, 1, 3, 3] }, blockSize: [4, 4] } },
        'options.blockMask.mask',
        '9 booleans',
      ],
    ];
    for (const [options, argument, fragment] of bad) {
      if (!argument) continue; // valid combinations, listed to show they are accepted
      expectRejectedOn(attn, () => attn.sdpa(t, t, t, options as SdpaOptions), argument, fragment);
      expectRejectedOn(attn, () => attn.sdpaNaive(t, t, t, options as SdpaOptions), argument, fragment);
      expect(() =>
        reference.sdpa(host('r', [1, 2, 10, 8]), host('r', [1, 2, 10, 8]), host('r', [1, 2, 10, 8]), options),
      ).toThrow(fragment);
    }
    t.destroy();
  });
});
