/**
 * Node GPU ring for attn.linearAttention (shaders/linear-attention.wgsl): every case of
 * test/long-cases.ts against reference.linearAttention (both feature maps, causal with chunk and
 * segment boundaries that do not divide L, a long causal L = 5000 through the scan over segments,
 * several value tiles, grouped heads, f16 storage), and every bad call refused with nothing taken
 * from the pool and nothing compiled. Every test ends with no live buffer.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { AttentionContext } from '../../src/index';
import { reference } from '../../src/reference/index';
import { planLinearAttention } from '../../src/ops/linear-attention/plan';
import { compareArrays } from '../helpers/compare';
import { trackedContext } from '../helpers/tracked-context';
import { expectRejectedOn } from '../helpers/rejections';
import { LINEAR_ATTENTION_CASES, linearAttentionInputs, linearAttentionOptions } from '../long-cases';
import { random } from '../mha-cases';

const tracked = trackedContext();
let attn: AttentionContext;
beforeAll(() => {
  attn = tracked.attn;
});
const upload = (t: { data: Float32Array; shape: readonly number[] }, dtype: 'f32' | 'f16' = 'f32') => {
  const tensor = attn.tensor(t.data, t.shape, { dtype });
  tracked.own(tensor);
  return tensor;
};

describe('attn.linearAttention vs reference.linearAttention', () => {
  for (const c of LINEAR_ATTENTION_CASES) {
    it(c.name, async () => {
      const inputs = linearAttentionInputs(c);
      const [q, k, v] = [inputs.q, inputs.k, inputs.v].map((t) => upload(t, c.dtype));
      const out = attn.linearAttention(q, k, v, linearAttentionOptions(c));
      tracked.own(out);
      expect(out.shape).toEqual([c.B, c.Hq, c.Lq, c.Dv]);
      const want = reference.linearAttention(inputs.q, inputs.k, inputs.v, linearAttentionOptions(c));
      const r = compareArrays(await out.read(), want.data);
      expect(r.ok, r.message).toBe(true);
    });
  }

  it('the long causal case really runs several segments, and a state pass; short causal runs one pass', () => {
    const limits = attn.device.limits;
    const long = planLinearAttention({ B: 1, Hq: 2, Hkv: 1, Lq: 5000, Lk: 5000, D: 32, Dv: 20 }, true, limits);
    expect(long.output.segments).toBeGreaterThan(8);
    expect(long.state?.segments).toBe(long.output.segments - 1);
    expect(5000 % long.tile.chunk).not.toBe(0);
    const short = planLinearAttention({ B: 2, Hq: 3, Hkv: 3, Lq: 77, Lk: 77, D: 40, Dv: 24 }, true, limits);
    expect(short.state).toBeNull();
    expect(77 % short.tile.chunk).not.toBe(0);
  });
});

describe('attn.linearAttention rejects bad input before taking anything', () => {
  const shapes = { q: [1, 2, 6, 4], k: [1, 2, 6, 4], v: [1, 2, 6, 3] };
  const tensors = () => {
    const [q, k, v] = (['q', 'k', 'v'] as const).map((n) => upload(random(`bad ${n}`, shapes[n])));
    return { q, k, v };
  };

  it('shapes that disagree', () => {
    const { q, v } = tensors();
    const k5 = upload(random('k5', [1, 2, 6, 5]));
    expectRejectedOn(attn, () => attn.linearAttention(q, k5, v), 'k', 'head dim 5', 'head dim 4');
    const v7 = upload(random('v7', [1, 2, 7, 3]));
    expectRejectedOn(attn, () => attn.linearAttention(q, k5, v7), 'k', 'head dim 5');
    const k7 = upload(random('k7', [1, 2, 7, 4]));
    expectRejectedOn(attn, () => attn.linearAttention(q, k7, v7, { causal: true }), 'k', '7 keys', '6 keys');
  });

  it('unknown feature maps, bad eps, unknown options, wrong types', () => {
    const { q, k, v } = tensors();
    expectRejectedOn(
      attn,
      () => attn.linearAttention(q, k, v, { featureMap: 'exp' as never }),
      'options.featureMap',
      "'relu'",
    );
    for (const eps of [0, -1, Infinity, NaN, 1e-45])
      expectRejectedOn(attn, () => attn.linearAttention(q, k, v, { eps }), 'options.eps', 'normal number');
    expectRejectedOn(
      attn,
      () => attn.linearAttention(q, k, v, { window: 3 } as never),
      'options.window',
      'unknown key',
    );
    const mask = attn.mask(new Uint8Array(24), [1, 2, 6, 2]);
    expectRejectedOn(attn, () => attn.linearAttention(q, mask as never, v), 'k', 'boolean GpuMask');
    mask.destroy();
    q.destroy();
    expectRejectedOn(attn, () => attn.linearAttention(q, k, v), 'q', 'destroyed');
  });

  it('a head dim whose smallest tiling does not fit the device', () => {
    const big = 4 * 1024;
    const q = upload(random('big q', [1, 1, 2, big]));
    const k = upload(random('big k', [1, 1, 2, big]));
    const v = upload(random('big v', [1, 1, 2, 3]));
    expectRejectedOn(attn, () => attn.linearAttention(q, k, v), 'q', `D = ${big}`, 'workgroup storage');
  });
});
