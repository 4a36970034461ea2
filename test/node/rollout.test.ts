/**
 * Node GPU ring for attn.attentionRollout (shaders/rollout.wgsl and the GEMM of linear.wgsl):
 * every rollout case of test/vision-cases.ts against reference.attentionRollout (the three
 * fusions, residual or not, discard ratios up to 0.9, L = 150 past one workgroup's columns, tied
 * rows, one layer, [B, L, L] weights), the weights of sdpaNaive and of a multi-head layer fed
 * straight in, and every bad call refused with nothing taken from the pool and nothing compiled.
 * Every test ends with no live buffer.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { reference, type AttentionContext, type GpuTensor, type HostTensor } from '../../src/index';
import { compareArrays } from '../helpers/compare';
import { trackedContext } from '../helpers/tracked-context';
import { expectRejectedOn } from '../helpers/rejections';
import { random } from '../mha-cases';
import { ROLLOUT_CASES, rolloutInputs, rolloutOptions } from '../vision-cases';

const tracked = trackedContext();
let attn: AttentionContext;
beforeAll(() => {
  attn = tracked.attn;
});
const own = tracked.own;
const upload = (t: HostTensor) => own(attn.tensor(Float32Array.from(t.data as ArrayLike<number>), [...t.shape]));

describe('attn.attentionRollout vs reference.attentionRollout', () => {
  for (const c of ROLLOUT_CASES) {
    it(c.name, async () => {
      const layers = rolloutInputs(c);
      const out = own(attn.attentionRollout(layers.map(upload), rolloutOptions(c)));
      expect(out.shape).toEqual([c.B, c.L, c.L]);
      const want = reference.attentionRollout(layers, rolloutOptions(c));
      const r = compareArrays(await out.read(), want.data);
      expect(r.ok, r.message).toBe(true);
    });
  }
});

describe('attn.attentionRollout on weights the library made', () => {
  it("sdpaNaive's returnWeights, three layers, straight from the GPU", async () => {
    const [B, H, L, D] = [2, 3, 19, 8];
    const layers: GpuTensor[] = [];
    const host: HostTensor[] = [];
    for (let l = 0; l < 3; l++) {
      const [q, k, v] = ['q', 'k', 'v'].map((n) => upload(random(`naive ${n}${l}`, [B, H, L, D], 2)));
      const { output, weights } = attn.sdpaNaive(q, k, v, { returnWeights: true, causal: l === 1 });
      output.destroy();
      layers.push(own(weights!));
      host.push({ data: await weights!.read(), shape: [B, H, L, L] });
    }
    const options = { headFusion: 'max' as const, discardRatio: 0.5 };
    const r = compareArrays(
      await own(attn.attentionRollout(layers, options)).read(),
      reference.attentionRollout(host, options).data,
    );
    expect(r.ok, r.message).toBe(true);
  });

  it("a multi-head layer's needWeights, averaged [B, L, L] and per head [B, H, L, L]", async () => {
    const [B, L, E, H] = [1, 11, 16, 4];
    const w = (name: string) => upload(random(`mha ${name}`, [E, E], 1 / Math.sqrt(E)));
    const mha = attn.multiHeadAttention({
      embedDim: E,
      numHeads: H,
      weights: { q: w('q'), k: w('k'), v: w('v'), o: w('o') },
    });
    const x = upload(random('mha x', [B, L, E], 2));
    for (const averageHeads of [true, false]) {
      const { output, weights } = mha.forward(x, { needWeights: true, averageHeads });
      output.destroy();
      own(weights);
      const host = { data: await weights.read(), shape: [...weights.shape] };
      const got = await own(attn.attentionRollout([weights, weights], { headFusion: 'mean' })).read();
      const r = compareArrays(got, reference.attentionRollout([host, host], { headFusion: 'mean' }).data);
      expect(r.ok, r.message).toBe(true);
    }
    mha.destroy();
  });
});

describe('attn.attentionRollout rejects bad input before taking anything', () => {
  const layer = (shape: number[], seed = 'bad') => upload(random(`${seed} ${shape.join('x')}`, shape));

  it('weight lists of different sizes, non-square or wrongly ranked weights, empty lists', () => {
    const [a, longer, moreHeads, rank3, oblong, flat] = [
      [1, 2, 5, 5],
      [1, 2, 6, 6],
      [1, 3, 5, 5],
      [2, 5, 5],
      [1, 2, 5, 4],
      [5, 5],
    ].map((shape) => layer(shape));
    const o = { headFusion: 'mean' as const };
    expectRejectedOn(attn, () => attn.attentionRollout([a, longer], o), 'weights[1]', 'as weights[0]');
    expectRejectedOn(attn, () => attn.attentionRollout([a, moreHeads], o), 'weights[1]', '[1, 2, 5, 5]');
    expectRejectedOn(attn, () => attn.attentionRollout([a, rank3], o), 'weights[1]');
    expectRejectedOn(attn, () => attn.attentionRollout([oblong], o), 'weights[0]', '[B, H, L, L]');
    expectRejectedOn(attn, () => attn.attentionRollout([flat], o), 'weights[0]');
    expectRejectedOn(attn, () => attn.attentionRollout([], o), 'weights', 'non-empty');
    expectRejectedOn(attn, () => attn.attentionRollout(a as never, o), 'weights', 'array');
    expectRejectedOn(attn, () => attn.attentionRollout([a, 'b' as never], o), 'weights[1]', 'GpuTensor');
  });

  it('unknown fusion, discardRatio outside [0, 1), bad flags and keys', () => {
    const a = [layer([1, 2, 5, 5])];
    expectRejectedOn(
      attn,
      () => attn.attentionRollout(a, { headFusion: 'sum' as never }),
      'options.headFusion',
      "'min'",
    );
    expectRejectedOn(attn, () => attn.attentionRollout(a, {} as never), 'options.headFusion', 'undefined');
    for (const discardRatio of [1, -0.1, 1.5, NaN, Infinity]) {
      expectRejectedOn(
        attn,
        () => attn.attentionRollout(a, { headFusion: 'mean', discardRatio }),
        'options.discardRatio',
        '[0, 1)',
      );
    }
    expectRejectedOn(
      attn,
      () => attn.attentionRollout(a, { headFusion: 'mean', residual: 1 as never }),
      'options.residual',
    );
    expectRejectedOn(
      attn,
      () => attn.attentionRollout(a, { headFusion: 'mean', ratio: 0.5 } as never),
      'options.ratio',
      'unknown key',
    );
    a[0].destroy();
    expectRejectedOn(attn, () => attn.attentionRollout(a, { headFusion: 'mean' }), 'weights[0]', 'destroyed');
  });
});
