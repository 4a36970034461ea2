/**
 * Score modifiers on the GPU against the float64 reference: ALiBi, learned sinks and sink tokens,
 * alone and with causal in both alignments, windows, dilation, GQA, masks, softcap and split-K; the
 * flash kernel (planned, unsplit and split 5 ways), the naive kernel (output, weights, lse) and the
 * multi-head layer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  alibiSlopes,
  createAttention,
  reference,
  type AttentionContext,
  type GpuTensor,
  type HostTensor,
  type SdpaOptions,
} from '../../src/index';
import { planSdpa } from '../../src/ops/sdpa/plan';
import { rng } from '../cases';
import { compareArrays } from '../helpers/compare';
import { nodeGpu } from '../helpers/node-gpu';

let attn: AttentionContext;
beforeAll(async () => {
  attn = await createAttention({ gpu: await nodeGpu() });
});
afterAll(() => attn?.destroy());

interface ModifierCase {
  name: string;
  Hq: number;
  Hkv: number;
  Lq: number;
  Lk: number;
  D: number;
  options: Omit<SdpaOptions, 'mask' | 'tile'>;
  /** A float mask [Lq, Lk] from (i, j). */
  mask?: (i: number, j: number) => number;
}

const sinks = (Hq: number) => Array.from({ length: Hq }, (_, h) => (h === 1 ? -Infinity : Math.cos(h) * 2));

const CASES: ModifierCase[] = [
  {
    name: 'ALiBi, causal, GQA 8/2',
    Hq: 8,
    Hkv: 2,
    Lq: 37,
    Lk: 37,
    D: 16,
    options: { causal: true, alibiSlopes: alibiSlopes(8) },
  },
  {
    name: 'ALiBi 6 heads (not a power of two), lower-right, softcap',
    Hq: 6,
    Hkv: 3,
    Lq: 9,
    Lk: 70,
    D: 8,
    options: { causal: true, alignment: 'lower-right', alibiSlopes: alibiSlopes(6), softcap: 3 },
  },
  { name: 'sinks (one head −∞), full attention', Hq: 4, Hkv: 4, Lq: 21, Lk: 50, D: 8, options: { sinks: sinks(4) } },
  {
    name: 'sinks, decode (one query, 1500 keys, GQA 8/2)',
    Hq: 8,
    Hkv: 2,
    Lq: 1,
    Lk: 1500,
    D: 16,
    options: { causal: true, alignment: 'lower-right', sinks: sinks(8) },
  },
  {
    name: 'sinks on rows with no key (lower-right, Lk < Lq)',
    Hq: 2,
    Hkv: 1,
    Lq: 12,
    Lk: 4,
    D: 8,
    options: { causal: true, alignment: 'lower-right', sinks: [0.5, -1] },
  },
  {
    name: 'sink tokens past a window of 8, causal',
    Hq: 4,
    Hkv: 2,
    Lq: 40,
    Lk: 40,
    D: 8,
    options: { causal: true, window: { left: 8, right: 0 }, sinkTokens: 4 },
  },
  {
    name: 'sink tokens with dilation 3 and a global token, decode',
    Hq: 4,
    Hkv: 1,
    Lq: 2,
    Lk: 900,
    D: 8,
    options: {
      causal: true,
      alignment: 'lower-right',
      window: { left: 20, right: 0 },
      dilation: 3,
      sinkTokens: 5,
      globalTokens: [300],
    },
  },
  {
    name: 'everything: ALiBi, sinks, sink tokens, window, float mask, softcap',
    Hq: 4,
    Hkv: 2,
    Lq: 30,
    Lk: 64,
    D: 12,
    options: {
      causal: true,
      window: { left: 6, right: 2 },
      sinkTokens: 3,
      alibiSlopes: alibiSlopes(4),
      sinks: sinks(4),
      softcap: 4,
    },
    mask: (i, j) => ((i + j) % 7 === 0 ? -Infinity : Math.sin(i * j)),
  },
];

function hostCase(c: ModifierCase) {
  const random = rng(c.name);
  const filled = (n: number) => Float32Array.from({ length: n }, () => random() * 2 - 1);
  const host = (H: number, L: number): HostTensor => ({ data: filled(H * L * c.D), shape: [1, H, L, c.D] });
  const mask = c.mask && {
    data: Float32Array.from({ length: c.Lq * c.Lk }, (_, n) => c.mask!(Math.floor(n / c.Lk), n % c.Lk)),
    shape: [c.Lq, c.Lk],
  };
  return { q: host(c.Hq, c.Lq), k: host(c.Hkv, c.Lk), v: host(c.Hkv, c.Lk), mask };
}

function expectClose(part: string, actual: ArrayLike<number>, expected: ArrayLike<number>) {
  const r = compareArrays(actual, expected);
  expect(r.ok, `${part}: ${r.message}`).toBe(true);
}

describe('score modifiers against the reference', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const h = hostCase(c);
      const options = { ...c.options, returnLse: true } as const;
      const want = reference.sdpa(h.q, h.k, h.v, { ...options, mask: h.mask, returnWeights: true });
      const up = (t: HostTensor) => attn.tensor(t.data as Float32Array, t.shape);
      const tensors: GpuTensor[] = [up(h.q), up(h.k), up(h.v)];
      const mask = h.mask && up(h.mask);
      const [q, k, v] = tensors;
      const dims = { B: 1, Hq: c.Hq, Hkv: c.Hkv, Lq: c.Lq, Lk: c.Lk, D: c.D, Dv: c.D };
      const { tile } = planSdpa(dims, attn.device.limits);
      try {
        for (const forced of [undefined, { ...tile, kvSplits: 1 }, { ...tile, kvSplits: 5 }]) {
          const r = attn.sdpa(q, k, v, { ...options, mask, tile: forced });
          const how = forced ? `flash, ${forced.kvSplits} split(s)` : 'flash, planned';
          expectClose(`${how} output`, await r.output.read(), want.output.data);
          expectClose(`${how} lse`, await r.lse.read(), want.lse.data);
          r.output.destroy();
          r.lse.destroy();
        }
        const n = attn.sdpaNaive(q, k, v, { ...options, mask, returnWeights: true });
        expectClose('naive output', await n.output.read(), want.output.data);
        expectClose('naive lse', await n.lse!.read(), want.lse.data);
        expectClose('naive weights', await n.weights!.read(), want.weights.data);
        [n.output, n.lse, n.weights].forEach((t) => t?.destroy());
      } finally {
        [...tensors, mask].forEach((t) => t?.destroy());
      }
      expect(attn.stats.liveBuffers).toBe(0);
    });
  }

  it('the multi-head layer passes ALiBi, sinks and sink tokens to attention', async () => {
    const [E, H, L] = [16, 4, 11];
    const random = rng('layer modifiers');
    const host = (shape: number[]): HostTensor => ({
      data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random() - 0.5),
      shape,
    });
    const w = { q: host([E, E]), k: host([E, E]), v: host([E, E]), o: host([E, E]) };
    const x = host([2, L, E]);
    const forward = {
      causal: true,
      alibiSlopes: alibiSlopes(H),
      sinks: sinks(H),
      window: { left: 3, right: 0 },
      sinkTokens: 2,
    };
    const want = reference.multiHeadAttention({ embedDim: E, numHeads: H, weights: w }).forward(x, forward);
    const gpu = (t: HostTensor) => attn.tensor(t.data as Float32Array, t.shape);
    const weights = { q: gpu(w.q), k: gpu(w.k), v: gpu(w.v), o: gpu(w.o) };
    const layer = attn.multiHeadAttention({ embedDim: E, numHeads: H, weights });
    const xg = gpu(x);
    const y = layer.forward(xg, forward);
    expectClose('layer output', await y.read(), want.data);
    [y, xg, ...Object.values(weights)].forEach((t) => t.destroy());
    layer.destroy();
  });

  it('variable-length batches take them too, with positions per sequence', async () => {
    const [Hq, Hkv, D] = [4, 2, 8];
    const [cuQ, cuK] = [
      [0, 3, 4, 9],
      [0, 7, 12, 20],
    ];
    const random = rng('varlen modifiers');
    const host = (rows: number, H: number): HostTensor => ({
      data: Float32Array.from({ length: rows * H * D }, () => random() * 2 - 1),
      shape: [rows, H, D],
    });
    const [q, k, v] = [host(9, Hq), host(20, Hkv), host(20, Hkv)];
    const options = {
      cuSeqlensQ: cuQ,
      cuSeqlensK: cuK,
      causal: true,
      alignment: 'lower-right',
      returnLse: true,
      window: { left: 2, right: 0 },
      sinkTokens: 1,
      alibiSlopes: alibiSlopes(Hq),
      sinks: sinks(Hq),
    } as const;
    const want = reference.sdpaVarlen(q, k, v, options);
    const [qg, kg, vg] = [q, k, v].map((t) => attn.tensor(t.data as Float32Array, t.shape));
    const got = attn.sdpaVarlen(qg, kg, vg, options);
    expectClose('varlen output', await got.output.read(), want.output.data);
    expectClose('varlen lse', await got.lse.read(), want.lse.data);
    [qg, kg, vg, got.output, got.lse].forEach((t) => t.destroy());
  });
});
