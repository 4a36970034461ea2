/**
 * The float64 twins of attention over feature maps, `reference.channelAttention`,
 * `reference.spatialAttention` and `reference.cbam`: hand-worked cases, PyTorch's vectors
 * (torchvision's SqueezeExcitation and a CBAM written in torch, test/data/vision/), properties (the
 * layouts agree, cbam is the two gates in turn, torchvision's 4-D weights are the 2-D ones), and the
 * bad-input errors the GPU path shares.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { reference, type HostTensor } from '../../src/index';
import { expectRejected } from '../helpers/rejections';
import { random } from '../mha-cases';

const t = (data: number[], shape: number[]): HostTensor => ({ data, shape });
const close = (got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-12) => {
  expect(got.length).toBe(want.length);
  for (let e = 0; e < want.length; e++) {
    expect(Math.abs(got[e] - want[e]), `element ${e}`).toBeLessThanOrEqual(tol * (1 + Math.abs(want[e])));
  }
};
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** [N, C, H, W] data as [N, H, W, C]. */
function toNhwc(data: ArrayLike<number>, [N, C, H, W]: number[]): number[] {
  const out = new Array<number>(data.length);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let p = 0; p < H * W; p++) out[(n * H * W + p) * C + c] = data[(n * C + c) * H * W + p];
  return out;
}

describe('hand-worked cases', () => {
  it('squeeze-excitation of one channel: gate σ(0) = 0.5 when w2 is 0', () => {
    const out = reference.channelAttention(t([1, 3], [1, 1, 1, 2]), {
      w1: t([1], [1, 1]),
      w2: t([0], [1, 1]),
      pooling: 'avg',
    });
    close(out.data, [0.5, 1.5]);
  });

  it("'avg+max': both pools through the MLP, summed (and b2 with each) before σ", () => {
    // mean 2, max 3: relu(2 − 1) + relu(3 − 1) = 3 through w2 = 1, plus b2 = 0.25 twice: σ(3.5)
    const o = { w1: t([1], [1, 1]), b1: t([-1], [1]), w2: t([1], [1, 1]), b2: t([0.25], [1]) };
    const out = reference.channelAttention(t([1, 3], [1, 1, 1, 2]), { ...o, pooling: 'avg+max' });
    close(out.data, [sigmoid(3.5), 3 * sigmoid(3.5)]);
    close(reference.channelAttention(t([1, 3], [1, 1, 1, 2]), { ...o, pooling: 'avg' }).data, [
      sigmoid(1.25),
      3 * sigmoid(1.25),
    ]);
  });

  it('spatial k=1: weight[0, 0] meets the mean map and weight[0, 1] the max map', () => {
    const x = t([1, 3], [1, 2, 1, 1]); // one position, channels 1 and 3: mean 2, max 3
    close(reference.spatialAttention(x, { weight: t([1, 0], [1, 2, 1, 1]) }).data, [sigmoid(2), 3 * sigmoid(2)]);
    close(reference.spatialAttention(x, { weight: t([0, 1], [1, 2, 1, 1]) }).data, [sigmoid(3), 3 * sigmoid(3)]);
    const bias = t([-0.5], [1]);
    close(reference.spatialAttention(x, { weight: t([0, 1], [1, 2, 1, 1]), bias }).data, [
      sigmoid(2.5),
      3 * sigmoid(2.5),
    ]);
  });

  it('spatial k=3 pads with zeros: on a 1×2 map every position sees both', () => {
    const weight = t([1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0], [1, 2, 3, 3]);
    close(reference.spatialAttention(t([2, 4], [1, 1, 1, 2]), { weight }).data, [2 * sigmoid(6), 4 * sigmoid(6)]);
    // only the centre tap of the mean map, and the right neighbour of the max map
    const taps = t([0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], [1, 2, 3, 3]);
    close(reference.spatialAttention(t([2, 4], [1, 1, 1, 2]), { weight: taps }).data, [2 * sigmoid(6), 4 * sigmoid(4)]);
  });
});

interface TorchCase {
  name: string;
  op: 'channelAttention' | 'spatialAttention' | 'cbam';
  x: { shape: number[]; data: number[] };
  options: Record<string, unknown>;
  expected: { shape: number[]; data: number[] };
}

/** JSON tensors (9-digit float32 values) as host tensors of the exact float32 values. */
function hosted(options: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(options).map(([key, v]) => {
      if (v && typeof v === 'object' && 'data' in v) {
        const { data, shape } = v as { data: number[]; shape: number[] };
        return [key, t(data.map(Math.fround), shape)];
      }
      return [key, v && typeof v === 'object' ? hosted(v as Record<string, unknown>) : v];
    }),
  );
}

describe('PyTorch vectors (test/data/vision/torch-vectors.json)', () => {
  const file = new URL('../data/vision/torch-vectors.json', import.meta.url);
  const { cases } = JSON.parse(readFileSync(file, 'utf8')) as { cases: TorchCase[] };
  const run = (c: TorchCase, x: HostTensor, options: Record<string, unknown>) =>
    (reference[c.op] as (x: HostTensor, o: unknown) => { data: Float64Array })(x, options).data;

  it('holds the cases the generator writes', () => expect(cases.length).toBe(7));
  for (const c of cases) {
    it(`${c.name}, nchw and nhwc`, () => {
      const x = t(c.x.data.map(Math.fround), c.x.shape);
      close(run(c, x, hosted(c.options)), c.expected.data);
      const [N, C, H, W] = c.x.shape;
      const nhwc = run(c, t(toNhwc(x.data as number[], c.x.shape), [N, H, W, C]), {
        ...hosted(c.options),
        layout: 'nhwc',
      });
      close(nhwc, toNhwc(c.expected.data, c.x.shape));
    });
  }
});

describe('properties', () => {
  const [N, C, H, W] = [2, 12, 5, 6];
  const x = random('props x', [N, C, H, W], 2);
  const channel = {
    w1: random('w1', [3, C], 0.5),
    b1: random('b1', [3]),
    w2: random('w2', [C, 3], 0.5),
    b2: random('b2', [C]),
  };
  const spatial = { weight: random('weight', [1, 2, 5, 5], 0.3), bias: random('bias', [1]) };

  it('cbam = spatialAttention(channelAttention(x, avg+max))', () => {
    const first = reference.channelAttention(x, { ...channel, pooling: 'avg+max' });
    close(reference.cbam(x, { channel, spatial }).data, reference.spatialAttention(first, spatial).data);
  });

  it("[S, C, 1, 1] and [C, S, 1, 1] weights are the [S, C] and [C, S] ones; 'reduction' only checks", () => {
    const conv = { ...channel, w1: { ...channel.w1, shape: [3, C, 1, 1] }, w2: { ...channel.w2, shape: [C, 3, 1, 1] } };
    const want = reference.channelAttention(x, { ...channel, pooling: 'avg' }).data;
    expect(reference.channelAttention(x, { ...conv, pooling: 'avg', reduction: 4 }).data).toEqual(want);
  });

  it('a gate of 1 everywhere leaves x as it is; of 0.5, halves it', () => {
    const big = {
      w1: t(new Array(C).fill(0), [1, C]),
      w2: t(new Array(C).fill(0), [C, 1]),
      b2: t(new Array(C).fill(1e3), [C]),
    };
    close(reference.channelAttention(x, { ...big, pooling: 'avg' }).data, x.data);
    const zero = t(new Array(50).fill(0), [1, 2, 5, 5]);
    close(
      reference.spatialAttention(x, { weight: zero }).data,
      Array.from(x.data, (v) => v / 2),
    );
  });
});

describe('bad input (the same errors as the GPU path)', () => {
  const x = random('bad x', [1, 24, 3, 5]);
  const w1 = random('bad w1', [6, 24]);
  const w2 = random('bad w2', [24, 6]);
  const weight = random('bad weight', [1, 2, 3, 3]);

  it('reduction ratios that do not divide C, or that disagree with w1', () => {
    expectRejected(
      () => reference.channelAttention(x, { w1, w2, pooling: 'avg', reduction: 5 }),
      'options.reduction',
      'divides C = 24',
      '1, 2, 3, 4, 6, 8',
    );
    expectRejected(() => reference.channelAttention(x, { w1, w2, pooling: 'avg', reduction: 0 }), 'options.reduction');
    expectRejected(
      () => reference.channelAttention(x, { w1, w2, pooling: 'avg', reduction: 2 }),
      'options.w1',
      '[12, 24]',
    );
  });

  it('even or non-positive convolution sizes, and weights of the wrong shape', () => {
    for (const shape of [
      [1, 2, 2, 2],
      [1, 2, 0, 0],
      [1, 2, 3, 1],
      [1, 3, 3, 3],
    ]) {
      const w = {
        data: new Array(
          Math.max(
            0,
            shape.reduce((a, b) => a * b, 1),
          ),
        ).fill(0),
        shape,
      };
      expectRejected(() => reference.spatialAttention(x, { weight: w }), 'options.weight', 'k odd and positive');
    }
    expectRejected(() => reference.cbam(x, { channel: { w1, w2 }, spatial: { weight: w1 } }), 'options.spatial.weight');
    expectRejected(() => reference.channelAttention(x, { w1: w2, w2, pooling: 'avg' }), 'options.w1', '[S, 24]');
    expectRejected(() => reference.channelAttention(x, { w1, w2: w1, pooling: 'avg' }), 'options.w2', '[24, 6]');
    expectRejected(
      () => reference.cbam(x, { channel: { w1, w2, b2: random('b2', [6]) }, spatial: { weight } }),
      'options.channel.b2',
      '[24]',
    );
  });

  it('unknown pooling, layout or keys; x not of rank 4; data that does not match the shape', () => {
    expectRejected(
      () => reference.channelAttention(x, { w1, w2, pooling: 'mean' as never }),
      'options.pooling',
      "'avg' or 'avg+max'",
    );
    expectRejected(
      () => reference.spatialAttention(x, { weight, layout: 'NCHW' as never }),
      'options.layout',
      "'nchw' or 'nhwc'",
    );
    expectRejected(
      () => reference.cbam(x, { channel: { w1, w2, pooling: 'avg' } as never, spatial: { weight } }),
      'options.channel.pooling',
      'unknown key',
    );
    expectRejected(() => reference.spatialAttention(random('x5', [1, 2, 3, 4, 5]), { weight }), 'x', '4 positive dims');
    expectRejected(() => reference.spatialAttention(t([1, 2, 3], [1, 1, 2, 2]), { weight }), 'x.data', '4 elements');
  });
});
