/**
 * Node GPU ring for the other score functions: `attn.additive` (projection GEMMs, then the tiled
 * additive kernel with its online softmax, and the weights pass) and `attn.multiplicative` (the key
 * projection GEMM, then the flash kernel, or the naive passes with weights), against the float64
 * reference at odd sizes (L = 77, D = 40, A = 24, Lq ≠ Lk, B = 2), with boolean and float masks,
 * causal, empty rows, f16 inputs, saturated tanh, rows of huge finite mask values; Luong's dot equal
 * bit for bit to sdpa; every bad input an AttentionError with nothing taken or submitted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lib from '../../src/index';
import { createAttention, reference, type AttentionContext, type GpuTensor, type HostTensor } from '../../src/index';
import { compareArrays } from '../helpers/compare';
import { nodeGpu } from '../helpers/node-gpu';
import { expectRejectedOn } from '../helpers/rejections';
import { MORE_SCORE_CASES, runScoreCase, SCORE_CASES, type ScoreCase } from '../helpers/score-function-runners';
import { random } from '../mha-cases';

let attn: AttentionContext;
let submits = 0;
beforeAll(async () => {
  attn = await createAttention({ gpu: await nodeGpu() });
  attn.runtime.onSubmit = () => submits++;
});
afterAll(() => attn?.destroy());

const upload = (t: HostTensor) => attn.tensor(Float32Array.from(t.data as ArrayLike<number>), [...t.shape]);

/** Cases beyond the shared table (which the browser and wgpu rings run too). */
const NODE_CASES: ScoreCase[] = [
  {
    name: 'additive B=2 Lq=1 Lk=77 D=40 A=5 Dv=3 (one query, A and Dv not multiples of 4), causal',
    op: 'additive',
    ...{ B: 2, Lq: 1, Lk: 77, Dq: 40, Dk: 40, Dv: 3, A: 5 },
    causal: true,
  },
  {
    name: 'additive B=1 Lq=40 Lk=5 Dq=24 Dk=40 Dv=40 A=24, key padding (a batch of 2 keys)',
    op: 'additive',
    ...{ B: 1, Lq: 40, Lk: 5, Dq: 24, Dk: 40, Dv: 40, A: 24 },
    mask: 'padding',
  },
  {
    name: 'additive B=2 Lq=77 Lk=77 D=40 A=24, causal, bool mask with an empty row, weights',
    op: 'additive',
    ...{ B: 2, Lq: 77, Lk: 77, Dq: 40, Dk: 40, Dv: 40, A: 24 },
    causal: true,
    mask: 'bool',
    returnWeights: true,
  },
  {
    name: 'multiplicative B=2 Lq=33 Lk=77 Dq=40 Dk=24 Dv=40, bool mask with an empty row, causal, weights, f16',
    op: 'multiplicative',
    ...{ B: 2, Lq: 33, Lk: 77, Dq: 40, Dk: 24, Dv: 40 },
    mask: 'bool',
    causal: true,
    returnWeights: true,
    f16: true,
  },
  {
    name: 'multiplicative B=2 Lq=1 Lk=700 Dq=40 Dk=24 Dv=40 (decoding: the flash kernel splits the keys), key padding',
    op: 'multiplicative',
    ...{ B: 2, Lq: 1, Lk: 700, Dq: 40, Dk: 24, Dv: 40 },
    mask: 'padding',
  },
  {
    name: 'multiplicative B=2 Lq=77 Lk=50 Dq=40 Dk=24 Dv=40, float mask, default scale',
    op: 'multiplicative',
    ...{ B: 2, Lq: 77, Lk: 50, Dq: 40, Dk: 24, Dv: 40 },
    mask: 'float',
  },
];

describe('against the float64 reference', () => {
  for (const c of [...SCORE_CASES, ...MORE_SCORE_CASES, ...NODE_CASES]) {
    it(c.name, async () => {
      const before = attn.stats.liveBuffers;
      const r = await runScoreCase(lib, attn as never, c);
      expect(r.ok, r.message).toBe(true);
      expect(attn.stats.liveBuffers, 'every output destroyed, every scratch buffer back').toBe(before);
    });
  }
});

describe('additive edge cases', () => {
  const sizes = { B: 1, Lq: 9, Lk: 13, D: 8, A: 12 };
  const host = (what: string, shape: number[], scale = 1) => random(`edge ${what}`, shape, scale);
  const q = host('q', [1, sizes.Lq, sizes.D]);
  const k = host('k', [1, sizes.Lk, sizes.D]);
  const v = host('v', [1, sizes.Lk, sizes.D]);
  const weights = { wq: host('wq', [sizes.A, sizes.D]), wk: host('wk', [sizes.A, sizes.D]), va: host('va', [sizes.A]) };

  async function both(options: Record<string, HostTensor | boolean | undefined>, vData = v, kData = k) {
    const gpu = Object.fromEntries(
      Object.entries({ ...weights, ...options }).map(([key, x]) => [
        key,
        x && typeof x === 'object'
          ? ((x.data instanceof Uint8Array ? attn.mask(x.data, [...x.shape]) : upload(x)) as GpuTensor)
          : x,
      ]),
    );
    const inputs = [upload(q), upload(kData), upload(vData)];
    const r = attn.additive(inputs[0], inputs[1], inputs[2], {
      ...gpu,
      returnWeights: true,
    } as never) as lib.ScoreFunctionOutputs;
    const got = { output: await r.output.read(), weights: await r.weights.read() };
    [...inputs, ...Object.values(gpu), r.output, r.weights].forEach((t) => (t as GpuTensor)?.destroy?.());
    const want = reference.additive(q, kData, vData, { ...weights, ...options, returnWeights: true } as never);
    return { got, want };
  }

  it('saturates tanh at large pre-activations (SwiftShader’s tanh is NaN from |x| ≥ 89)', async () => {
    const big = {
      bias: { data: Float32Array.from({ length: sizes.A }, (_, a) => (a % 2 ? 150 : -300)), shape: [sizes.A] },
    };
    const { got, want } = await both(big);
    expect(got.output.every(Number.isFinite)).toBe(true);
    expect(compareArrays(got.output, want.output.data).ok).toBe(true);
    expect(compareArrays(got.weights, want.weights.data).ok).toBe(true);
  });

  it('a row whose every key carries −3.4e38 gets equal weights, not 1 each', async () => {
    const maskData = Float32Array.from({ length: sizes.Lq * sizes.Lk }, (_, e) =>
      e < sizes.Lk ? -3.4028234663852886e38 : 0,
    );
    const { got, want } = await both({ mask: { data: maskData, shape: [sizes.Lq, sizes.Lk] } });
    expect(
      compareArrays(got.weights, want.weights.data).ok,
      compareArrays(got.weights, want.weights.data).message,
    ).toBe(true);
    expect(got.weights[0]).toBeCloseTo(1 / sizes.Lk, 6);
    expect(compareArrays(got.output, want.output.data).ok).toBe(true);
  });

  it('a key that a boolean mask removes is never read: NaN in its k and v rows stays out', async () => {
    const keep = new Uint8Array(sizes.Lq * sizes.Lk).fill(1);
    for (let i = 0; i < sizes.Lq; i++) keep[i * sizes.Lk + 5] = 0;
    const poison = (x: HostTensor) => ({ ...x, data: Float32Array.from(x.data).fill(NaN, 5 * sizes.D, 6 * sizes.D) });
    const { got, want } = await both({ mask: { data: keep, shape: [sizes.Lq, sizes.Lk] } }, poison(v), poison(k));
    expect(got.output.every(Number.isFinite)).toBe(true);
    expect(compareArrays(got.output, want.output.data).ok).toBe(true);
    expect(compareArrays(got.weights, want.weights.data).ok).toBe(true);
  });
});

describe('multiplicative', () => {
  it('with W = I and scale 1 is Luong’s dot: bit for bit attn.sdpa with scale 1 on [B, 1, L, D]', async () => {
    const [B, Lq, Lk, D] = [2, 77, 50, 40];
    const q = upload(random('dot q', [B, Lq, D]));
    const k = upload(random('dot k', [B, Lk, D]));
    const v = upload(random('dot v', [B, Lk, D]));
    const weight = attn.tensor(
      Float32Array.from({ length: D * D }, (_, e) => (e % (D + 1) === 0 ? 1 : 0)),
      [D, D],
    );
    const out = attn.multiplicative(q, k, v, { weight, causal: true });
    const [q4, k4, v4] = await Promise.all(
      [q, k, v].map(async (t) => attn.tensor(await t.read(), [t.shape[0], 1, t.shape[1], t.shape[2]])),
    );
    const direct = attn.sdpa(q4, k4, v4, { scale: 1, causal: true });
    expect(await out.read()).toEqual(await direct.read());
    [q, k, v, weight, out, q4, k4, v4, direct].forEach((t) => t.destroy());
  });
});

describe('bad input: an AttentionError naming the argument, nothing taken, compiled or submitted', () => {
  it('additive and multiplicative', () => {
    const q = upload(random('bad q', [2, 7, 5]));
    const k = upload(random('bad k', [2, 9, 3]));
    const v = upload(random('bad v', [2, 9, 4]));
    const wq = upload(random('bad wq', [6, 5]));
    const wk = upload(random('bad wk', [6, 3]));
    const va = upload(random('bad va', [6]));
    const weight = upload(random('bad w', [5, 3]));
    const wrong = upload(random('bad wrong', [4, 4]));
    const mask = attn.mask(new Uint8Array(2 * 9), [2, 9]);
    const k3 = upload(random('bad k3', [3, 9, 3]));
    const gone = upload(random('bad gone', [6]));
    gone.destroy();
    const was = submits;
    const additive =
      (o: Record<string, unknown>, qq: unknown = q) =>
      () =>
        attn.additive(qq as GpuTensor, k, v, { wq, wk, va, ...o } as never);
    const multiplicative = (o: Record<string, unknown>) => () =>
      attn.multiplicative(q, k, v, { weight, ...o } as never);
    expectRejectedOn(attn, additive({}, wrong), 'q', '[B, Lq, Dq]');
    expectRejectedOn(attn, additive({}, mask), 'q', 'boolean');
    expectRejectedOn(attn, () => attn.additive(q, k3, v, { wq, wk, va }), 'k', 'batch 2, as q');
    expectRejectedOn(attn, additive({ wq: wrong }), 'options.wq', '[A, 5]');
    expectRejectedOn(attn, additive({ wk: wrong }), 'options.wk', '[6, 3]');
    expectRejectedOn(attn, additive({ va: wrong }), 'options.va', '[6]');
    expectRejectedOn(attn, additive({ bias: wrong }), 'options.bias', '[6]');
    expectRejectedOn(attn, additive({ va: gone }), 'options.va', 'destroyed');
    expectRejectedOn(attn, additive({ wq: [1, 2] }), 'options.wq', 'GpuTensor');
    expectRejectedOn(attn, additive({ mask }), 'options.mask', '[B, Lq, Lk] = [2, 7, 9]');
    expectRejectedOn(attn, additive({ causal: 'yes' }), 'options.causal');
    expectRejectedOn(attn, additive({ topK: 3 }), 'options.topK', 'an unknown key');
    expectRejectedOn(attn, multiplicative({ weight: wrong }), 'options.weight', '[5, 3]');
    expectRejectedOn(attn, multiplicative({ scale: -1 }), 'options.scale');
    expectRejectedOn(attn, multiplicative({ returnWeights: 1 }), 'options.returnWeights');
    expect(submits, 'nothing submitted').toBe(was);
    [q, k, k3, v, wq, wk, va, weight, wrong, mask].forEach((t) => t.destroy());
  });
});
