/**
 * Node GPU ring for attn.channelAttention, attn.spatialAttention and attn.cbam
 * (shaders/vision.wgsl): every case of test/vision-cases.ts against the float64 reference (both
 * layouts, k = 3 and 7, C = 24 with r = 4 on 13×17 maps, two chunks of hidden units, a kernel
 * wider than the map, one channel and one position), the layouts against each other, torchvision's
 * 4-D weights against 2-D ones, cbam against the two gates in turn, and every bad call refused with
 * nothing taken from the pool and nothing compiled. Every test ends with no live buffer.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { AttentionContext, GpuTensor, HostTensor } from '../../src/index';
import { compareArrays } from '../helpers/compare';
import { trackedContext } from '../helpers/tracked-context';
import { expectRejectedOn } from '../helpers/rejections';
import { random } from '../mha-cases';
import { VISION_CASES, visionExpected, visionInputs } from '../vision-cases';

const tracked = trackedContext();
let attn: AttentionContext;
beforeAll(() => {
  attn = tracked.attn;
});
const upload = (t: HostTensor) => {
  const tensor = attn.tensor(Float32Array.from(t.data as ArrayLike<number>), [...t.shape]);
  tracked.own(tensor);
  return tensor;
};
/** Host tensors in (nested) options as GPU tensors. */
const onGpu = (options: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(options).map(([key, v]) => {
      if (v && typeof v === 'object' && 'data' in v) return [key, upload(v as HostTensor)];
      if (v && typeof v === 'object') return [key, onGpu(v as Record<string, unknown>)];
      return [key, v];
    }),
  );
const call = (op: 'channelAttention' | 'spatialAttention' | 'cbam', x: GpuTensor, options: unknown) => {
  const out = (attn[op] as (x: GpuTensor, o: unknown) => GpuTensor).call(attn, x, options);
  tracked.own(out);
  return out;
};

describe('feature-map attention vs the reference', () => {
  for (const c of VISION_CASES) {
    it(c.name, async () => {
      const inputs = visionInputs(c);
      const out = call(c.op, upload(inputs.x), onGpu(inputs.options));
      expect(out.shape).toEqual(inputs.x.shape);
      const r = compareArrays(await out.read(), visionExpected(c, inputs).data);
      expect(r.ok, r.message).toBe(true);
    });
  }
});

describe('feature-map attention: properties on the GPU', () => {
  const [N, C, H, W] = [2, 24, 13, 17];
  const x = () => random('props x', [N, C, H, W], 2);
  const nhwc = (t: HostTensor): HostTensor => {
    const out = new Float32Array(t.data.length);
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++)
        for (let p = 0; p < H * W; p++) out[(n * H * W + p) * C + c] = Number(t.data[(n * C + c) * H * W + p]);
    return { data: out, shape: [N, H, W, C] };
  };
  const gates = () => ({
    channel: { w1: upload(random('props w1', [6, C], 0.3)), w2: upload(random('props w2', [C, 6], 0.6)) },
    spatial: { weight: upload(random('props weight', [1, 2, 7, 7], 0.3)), bias: upload(random('props b', [1])) },
  });

  it("'nhwc' is 'nchw' with the channels moved last, element for element", async () => {
    const host = x();
    const g = gates();
    const a = await call('cbam', upload(host), g).read();
    const b = await call('cbam', upload(nhwc(host)), { ...g, layout: 'nhwc' }).read();
    const r = compareArrays(b, nhwc({ data: a, shape: [N, C, H, W] }).data, 1e-6, 1e-6);
    expect(r.ok, r.message).toBe(true);
  });

  it('cbam = spatialAttention(channelAttention(x, avg+max)), up to rounding between the passes', async () => {
    const g = gates();
    const xs = upload(x());
    const both = await call('cbam', xs, g).read();
    const first = call('channelAttention', xs, { ...g.channel, pooling: 'avg+max' });
    const r = compareArrays(both, await call('spatialAttention', first, g.spatial).read(), 1e-6, 1e-5);
    expect(r.ok, r.message).toBe(true);
  });

  it("torchvision's [S, C, 1, 1] weights give the same bits as [S, C]", async () => {
    const w1 = random('props w1', [6, C], 0.3);
    const w2 = random('props w2', [C, 6], 0.6);
    const xs = upload(x());
    const flat = await call('channelAttention', xs, { w1: upload(w1), w2: upload(w2), pooling: 'avg' }).read();
    const conv = { w1: upload({ ...w1, shape: [6, C, 1, 1] }), w2: upload({ ...w2, shape: [C, 6, 1, 1] }) };
    expect(await call('channelAttention', xs, { ...conv, pooling: 'avg', reduction: 4 }).read()).toEqual(flat);
  });
});

describe('feature-map attention rejects bad input before taking anything', () => {
  const [N, C, H, W] = [1, 24, 5, 7];
  const setup = () => ({
    x: upload(random('bad x', [N, C, H, W])),
    w1: upload(random('bad w1', [6, C])),
    w2: upload(random('bad w2', [C, 6])),
    weight: upload(random('bad weight', [1, 2, 3, 3])),
  });

  it('reduction ratios that do not divide C, or disagree with w1', () => {
    const { x, w1, w2 } = setup();
    const o = { w1, w2, pooling: 'avg' as const };
    expectRejectedOn(
      attn,
      () => attn.channelAttention(x, { ...o, reduction: 5 }),
      'options.reduction',
      'divides C = 24',
    );
    expectRejectedOn(attn, () => attn.channelAttention(x, { ...o, reduction: 3 }), 'options.w1', '[8, 24]');
    expectRejectedOn(
      attn,
      () => attn.cbam(x, { channel: { w1, w2, reduction: 7 }, spatial: { weight: w1 } }),
      'options.channel.reduction',
    );
  });

  it('even, non-square or wrongly shaped convolutions', () => {
    const { x } = setup();
    for (const shape of [
      [1, 2, 4, 4],
      [1, 2, 3, 5],
      [2, 2, 3, 3],
      [1, 1, 3, 3],
      [2, 3, 3],
    ]) {
      const weight = upload(random('bad conv', shape));
      expectRejectedOn(attn, () => attn.spatialAttention(x, { weight }), 'options.weight', 'k odd');
    }
    const weight = upload(random('conv', [1, 2, 3, 3]));
    const bias = upload(random('bias', [2]));
    expectRejectedOn(attn, () => attn.spatialAttention(x, { weight, bias }), 'options.bias', '[1]');
  });

  it('weights of the wrong shape, unknown pooling or layout, unknown keys, bad x', () => {
    const { x, w1, w2, weight } = setup();
    expectRejectedOn(attn, () => attn.channelAttention(x, { w1: w2, w2, pooling: 'avg' }), 'options.w1', 'S = C/r');
    expectRejectedOn(attn, () => attn.channelAttention(x, { w1, w2: w1, pooling: 'avg' }), 'options.w2', '[24, 6]');
    const b1 = upload(random('b1', [24]));
    expectRejectedOn(attn, () => attn.channelAttention(x, { w1, w2, b1, pooling: 'avg' }), 'options.b1', '[6]');
    expectRejectedOn(
      attn,
      () => attn.channelAttention(x, { w1, w2, pooling: 'max' as never }),
      'options.pooling',
      "'avg+max'",
    );
    expectRejectedOn(attn, () => attn.channelAttention(x, { w1, w2 } as never), 'options.pooling', 'undefined');
    expectRejectedOn(attn, () => attn.spatialAttention(x, { weight, layout: 'nhcw' as never }), 'options.layout');
    expectRejectedOn(
      attn,
      () => attn.spatialAttention(x, { weight, kernel: 3 } as never),
      'options.kernel',
      'unknown key',
    );
    expectRejectedOn(attn, () => attn.cbam(x, { channel: { w1, w2 } } as never), 'options.spatial', 'an object');
    const x3 = upload(random('x3', [C, H, W]));
    expectRejectedOn(attn, () => attn.spatialAttention(x3, { weight }), 'x', '[N, C, H, W]');
    const half = attn.tensor(new Float32Array(N * C * H * W), [N, C, H, W], { dtype: 'f16' });
    tracked.own(half);
    expectRejectedOn(attn, () => attn.spatialAttention(half, { weight }), 'x', 'f32');
    x.destroy();
    expectRejectedOn(attn, () => attn.spatialAttention(x, { weight }), 'x', 'destroyed');
  });
});
