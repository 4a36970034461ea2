/**
 * Named cases of attention over feature maps (channel, spatial, CBAM) and of attention rollout,
 * shared by the Node ring (test/node/vision.test.ts, test/node/rollout.test.ts) and, through
 * test/helpers/vision-runners.ts, the browser and wgpu rings. Inputs are deterministic from the
 * case name; expected values come from the float64 reference. Odd sizes throughout: C = 24, r = 4,
 * 13×17 maps, N = 2, both layouts, k = 3 and 7; rollouts over L = 37 and L = 150 (past one
 * workgroup's 128 columns), ties, one layer, [B, L, L] weights.
 */
import type { HostResult, HostTensor } from '../src/contract/types';
import type { FeatureLayout, ChannelPooling } from '../src/contract/vision';
import type { HeadFusion } from '../src/contract/rollout';
import { reference } from '../src/reference/index';
import { random } from './mha-cases';

type Host = HostTensor & { data: Float32Array };

export interface VisionCase {
  name: string;
  op: 'channelAttention' | 'spatialAttention' | 'cbam';
  N: number;
  C: number;
  H: number;
  W: number;
  layout: FeatureLayout;
  /** Reduction ratio of the channel gate (S = C/r). */
  r?: number;
  pooling?: ChannelPooling;
  /** Kernel size of the spatial gate. */
  k?: number;
  /** b1, b2 and the convolution's bias. */
  biases?: boolean;
  /** w1, w2 in torchvision's 1×1 convolution shapes [S, C, 1, 1], [C, S, 1, 1]. */
  conv4d?: boolean;
  /** Runs on the browser and wgpu rings too. */
  everyEngine?: boolean;
}

export const VISION_CASES: VisionCase[] = [
  {
    name: 'squeeze-excitation avg, nchw, N=2 C=24 r=4 13×17, biases, [S, C, 1, 1] weights',
    op: 'channelAttention',
    ...{ N: 2, C: 24, H: 13, W: 17, layout: 'nchw', r: 4, pooling: 'avg', biases: true, conv4d: true },
    everyEngine: true,
  },
  {
    name: 'squeeze-excitation avg, nhwc, N=2 C=24 r=4 13×17, no biases',
    op: 'channelAttention',
    ...{ N: 2, C: 24, H: 13, W: 17, layout: 'nhwc', r: 4, pooling: 'avg' },
  },
  {
    name: 'channel gate avg+max, nchw, N=2 C=24 r=4 13×17, biases',
    op: 'channelAttention',
    ...{ N: 2, C: 24, H: 13, W: 17, layout: 'nchw', r: 4, pooling: 'avg+max', biases: true },
  },
  {
    name: 'channel gate avg+max, nhwc, N=1 C=320 r=2 (S=160: two hidden chunks) 5×7',
    op: 'channelAttention',
    ...{ N: 1, C: 320, H: 5, W: 7, layout: 'nhwc', r: 2, pooling: 'avg+max', biases: true },
  },
  {
    name: 'spatial k=7, nchw, N=2 C=24 13×17, bias',
    op: 'spatialAttention',
    ...{ N: 2, C: 24, H: 13, W: 17, layout: 'nchw', k: 7, biases: true },
  },
  {
    name: 'spatial k=3, nhwc, N=2 C=24 13×17',
    op: 'spatialAttention',
    ...{ N: 2, C: 24, H: 13, W: 17, layout: 'nhwc', k: 3 },
    everyEngine: true,
  },
  {
    name: 'cbam k=7, nchw, N=2 C=24 r=4 13×17, biases',
    op: 'cbam',
    ...{ N: 2, C: 24, H: 13, W: 17, layout: 'nchw', r: 4, k: 7, biases: true },
    everyEngine: true,
  },
  {
    name: 'cbam k=3, nhwc, N=2 C=24 r=4 13×17, biases, [S, C, 1, 1] weights',
    op: 'cbam',
    ...{ N: 2, C: 24, H: 13, W: 17, layout: 'nhwc', r: 4, k: 3, biases: true, conv4d: true },
    everyEngine: true,
  },
  {
    name: 'cbam k=7 on a 3×2 map (kernel past the edges), nchw, N=3 C=5 r=5',
    op: 'cbam',
    ...{ N: 3, C: 5, H: 3, W: 2, layout: 'nchw', r: 5, k: 7, biases: true },
  },
  {
    name: 'cbam k=1, one channel, one position, nhwc, N=2',
    op: 'cbam',
    ...{ N: 2, C: 1, H: 1, W: 1, layout: 'nhwc', r: 1, k: 1, biases: true },
  },
];

/** x [N, C, H, W] (or nhwc) and the options as host tensors (nested for cbam). */
export function visionInputs(c: VisionCase): { x: Host; options: Record<string, unknown> } {
  const r = (what: string, shape: number[], scale = 1) => random(`${c.name} ${what}`, shape, scale);
  const { N, C, H, W } = c;
  const x = r('x', c.layout === 'nchw' ? [N, C, H, W] : [N, H, W, C], 2);
  const S = C / (c.r ?? 1);
  const tail = c.conv4d ? [1, 1] : [];
  const channel = {
    w1: r('w1', [S, C, ...tail], 1.5 / Math.sqrt(C)),
    w2: r('w2', [C, S, ...tail], 1.5 / Math.sqrt(S)),
    b1: c.biases ? r('b1', [S], 0.5) : undefined,
    b2: c.biases ? r('b2', [C], 0.5) : undefined,
  };
  const k = c.k ?? 1;
  const spatial = { weight: r('weight', [1, 2, k, k], 2 / k), bias: c.biases ? r('bias', [1], 0.5) : undefined };
  const layout = c.layout;
  if (c.op === 'channelAttention') return { x, options: { ...channel, pooling: c.pooling, layout } };
  if (c.op === 'spatialAttention') return { x, options: { ...spatial, layout } };
  return { x, options: { channel, spatial, layout } };
}

/** The float64 reference's answer. */
export function visionExpected(c: VisionCase, inputs: ReturnType<typeof visionInputs>): HostResult {
  const run = reference[c.op] as (x: HostTensor, options: unknown) => HostResult;
  return run(inputs.x, inputs.options);
}

export interface RolloutCase {
  name: string;
  B: number;
  H: number;
  L: number;
  layers: number;
  headFusion: HeadFusion;
  residual?: boolean;
  discardRatio?: number;
  /** Weights [B, L, L] (heads averaged already, as the multi-head layer's default needWeights). */
  rank3?: boolean;
  /** Rows 1, 4, 7, … of every head uniform (1/L): ties everywhere in them. */
  ties?: boolean;
  everyEngine?: boolean;
}

export const ROLLOUT_CASES: RolloutCase[] = [
  {
    name: 'rollout mean, residual, B=2 H=3 L=37, 4 layers',
    ...{ B: 2, H: 3, L: 37, layers: 4, headFusion: 'mean' },
    everyEngine: true,
  },
  {
    name: 'rollout max, residual, discard 0.9, B=1 H=4 L=37, 3 layers',
    ...{ B: 1, H: 4, L: 37, layers: 3, headFusion: 'max', discardRatio: 0.9 },
    everyEngine: true,
  },
  {
    name: 'rollout min, residual, discard 0.5, B=1 H=2 L=150 (two column blocks), 2 layers',
    ...{ B: 1, H: 2, L: 150, layers: 2, headFusion: 'min', discardRatio: 0.5 },
  },
  {
    name: 'rollout mean, no residual, discard 0.25, B=2 H=2 L=13, 3 layers',
    ...{ B: 2, H: 2, L: 13, layers: 3, headFusion: 'mean', residual: false, discardRatio: 0.25 },
  },
  {
    name: 'rollout mean, residual, discard 0.4, tied rows (1/L), B=1 H=3 L=8, 5 layers',
    ...{ B: 1, H: 3, L: 8, layers: 5, headFusion: 'mean', discardRatio: 0.4, ties: true },
  },
  {
    name: 'rollout max, no residual, discard 0.99 (36 of 37: all but the diagonal), B=1 H=2 L=37, 2 layers',
    ...{ B: 1, H: 2, L: 37, layers: 2, headFusion: 'max', residual: false, discardRatio: 0.99 },
  },
  {
    name: 'rollout one layer, max, residual, B=3 H=2 L=5',
    ...{ B: 3, H: 2, L: 5, layers: 1, headFusion: 'max' },
  },
  {
    name: 'rollout [B, L, L] weights (heads averaged), mean, discard 0.1, B=2 L=21, 2 layers',
    ...{ B: 2, H: 1, L: 21, layers: 2, headFusion: 'mean', discardRatio: 0.1, rank3: true },
  },
];

/** Softmax rows of random logits, one tensor per layer. */
export function rolloutInputs(c: RolloutCase): Host[] {
  const { B, H, L } = c;
  return Array.from({ length: c.layers }, (_, l) => {
    const w = random(`${c.name} layer ${l}`, c.rank3 ? [B, L, L] : [B, H, L, L], 2);
    for (let row = 0; row < w.data.length / L; row++) {
      const cells = w.data.subarray(row * L, (row + 1) * L);
      if (c.ties && (row % L) % 3 === 1) {
        cells.fill(1 / L);
        continue;
      }
      const exps = Array.from(cells, Math.exp);
      const sum = exps.reduce((a, b) => a + b, 0);
      exps.forEach((e, j) => (cells[j] = e / sum));
    }
    return w;
  });
}

export function rolloutOptions(c: RolloutCase) {
  return { headFusion: c.headFusion, residual: c.residual, discardRatio: c.discardRatio };
}
