/**
 * Attention over feature maps on the CPU in float64 (docs/semantics.md, "Attention over feature
 * maps"), the oracle of `attn.channelAttention`, `attn.spatialAttention` and `attn.cbam`:
 *   channel gate  g[n, c] = σ(Σ_pool (W2·relu(W1·pool_c(x) + b1) + b2))   pools: mean (and max) over H·W
 *   spatial gate  s[n, p] = σ(conv_k([mean_c(y), max_c(y)]) + bias)       y = x·g (x without a channel gate)
 *   out = x·g·s
 */
import {
  validateCbamCall,
  validateChannelAttentionCall,
  validateSpatialAttentionCall,
  type CbamOptionsOf,
  type ChannelAttentionOptionsOf,
  type ResolvedChannelGate,
  type ResolvedSpatialGate,
  type SpatialAttentionOptionsOf,
  type ValidatedVision,
} from '../contract/vision';
import type { HostResult, HostTensor } from '../contract/types';
import { float64, HOST_CHECKS } from './score-functions';

/** Options of `reference.channelAttention`: host tensors for the weights. */
export type ReferenceChannelAttentionOptions = ChannelAttentionOptionsOf<HostTensor>;
/** Options of `reference.spatialAttention`. */
export type ReferenceSpatialAttentionOptions = SpatialAttentionOptionsOf<HostTensor>;
/** Options of `reference.cbam`. */
export type ReferenceCbamOptions = CbamOptionsOf<HostTensor>;

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** The channel gate g [N, C] of x (float64 values at `at(n, c, p)`). */
function channelGate(
  gate: ResolvedChannelGate<HostTensor>,
  xs: Float64Array,
  N: number,
  C: number,
  P: number,
  at: Index,
) {
  const [w1, w2] = [float64(gate.w1), float64(gate.w2)];
  const b1 = gate.b1 ? float64(gate.b1) : null;
  const b2 = gate.b2 ? float64(gate.b2) : null;
  const S = gate.hidden;
  const g = new Float64Array(N * C);
  const mlp = (pooled: Float64Array, logits: Float64Array) => {
    const h = new Float64Array(S);
    for (let s = 0; s < S; s++) {
      let sum = b1 ? b1[s] : 0;
      for (let c = 0; c < C; c++) sum += w1[s * C + c] * pooled[c];
      h[s] = Math.max(sum, 0);
    }
    for (let c = 0; c < C; c++) {
      let sum = b2 ? b2[c] : 0;
      for (let s = 0; s < S; s++) sum += w2[c * S + s] * h[s];
      logits[c] += sum;
    }
  };
  for (let n = 0; n < N; n++) {
    const [mean, max, logits] = [new Float64Array(C), new Float64Array(C).fill(-Infinity), new Float64Array(C)];
    for (let c = 0; c < C; c++) {
      for (let p = 0; p < P; p++) {
        const v = xs[at(n, c, p)];
        mean[c] += v;
        max[c] = Math.max(max[c], v);
      }
      mean[c] /= P;
    }
    mlp(mean, logits);
    if (gate.pooling === 'avg+max') mlp(max, logits);
    for (let c = 0; c < C; c++) g[n * C + c] = sigmoid(logits[c]);
  }
  return g;
}

/** The spatial gate s [N, P] of y (x times the channel gate, where there is one). */
function spatialGate(
  gate: ResolvedSpatialGate<HostTensor>,
  y: (n: number, c: number, p: number) => number,
  dims: Dims,
) {
  const { N, C, H, W } = dims;
  const [P, k, r] = [H * W, gate.kernel, (gate.kernel - 1) / 2];
  const w = float64(gate.weight);
  const bias = gate.bias ? Number(gate.bias.data[0]) : 0;
  const s = new Float64Array(N * P);
  for (let n = 0; n < N; n++) {
    const [mean, max] = [new Float64Array(P), new Float64Array(P).fill(-Infinity)];
    for (let p = 0; p < P; p++) {
      for (let c = 0; c < C; c++) {
        const v = y(n, c, p);
        mean[p] += v;
        max[p] = Math.max(max[p], v);
      }
      mean[p] /= C;
    }
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        let z = bias;
        for (let dy = 0; dy < k; dy++) {
          for (let dx = 0; dx < k; dx++) {
            const [yy, xx] = [i + dy - r, j + dx - r];
            if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
            z += w[dy * k + dx] * mean[yy * W + xx] + w[k * k + dy * k + dx] * max[yy * W + xx];
          }
        }
        s[n * P + i * W + j] = sigmoid(z);
      }
    }
  }
  return s;
}

type Index = (n: number, c: number, p: number) => number;
type Dims = { N: number; C: number; H: number; W: number };

/** Runs a checked call: the channel gate, then the spatial gate, then the rescale. */
function run(call: ValidatedVision<HostTensor>): HostResult {
  const { N, C, H, W } = call.dims;
  const P = H * W;
  const at: Index = call.layout === 'nchw' ? (n, c, p) => (n * C + c) * P + p : (n, c, p) => (n * P + p) * C + c;
  const xs = float64(call.x);
  const g = call.channel ? channelGate(call.channel, xs, N, C, P, at) : null;
  const y = (n: number, c: number, p: number) => xs[at(n, c, p)] * (g ? g[n * C + c] : 1);
  const s = call.spatial ? spatialGate(call.spatial, y, call.dims) : null;
  const out = new Float64Array(xs.length);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let p = 0; p < P; p++) out[at(n, c, p)] = y(n, c, p) * (s ? s[n * P + p] : 1);
    }
  }
  return { data: out, shape: [...call.x.shape] };
}

/**
 * Channel attention in float64: squeeze-and-excitation (`pooling: 'avg'`) or CBAM's channel gate
 * (`'avg+max'`). x [N, C, H, W] (or [N, H, W, C] with `layout: 'nhwc'`) → the same shape.
 * @example
 * const t = (data: number[], shape: number[]) => ({ data, shape });
 * channelAttention(t([1, 3], [1, 1, 1, 2]), { w1: t([1], [1, 1]), w2: t([0], [1, 1]), pooling: 'avg' }).data;
 * // gate σ(0) = 0.5: [0.5, 1.5]
 */
export function channelAttention(x: HostTensor, options: ReferenceChannelAttentionOptions): HostResult {
  return run(validateChannelAttentionCall(x, options, HOST_CHECKS));
}

/**
 * CBAM's spatial attention in float64: mean and max over channels, a k×k convolution (zero
 * padding ⌊k/2⌋), σ, each position scaled. weight [1, 2, k, k], k odd.
 * @example
 * spatialAttention(x, { weight: { data: w, shape: [1, 2, 7, 7] } }); // x [N, C, H, W]
 */
export function spatialAttention(x: HostTensor, options: ReferenceSpatialAttentionOptions): HostResult {
  return run(validateSpatialAttentionCall(x, options, HOST_CHECKS));
}

/**
 * CBAM (Woo et al. 2018) in float64: the channel gate with 'avg+max' pooling, then the spatial gate.
 * @example
 * cbam(x, { channel: { w1, w2 }, spatial: { weight } }); // w1 [C/r, C], w2 [C, C/r], weight [1, 2, 7, 7]
 */
export function cbam(x: HostTensor, options: ReferenceCbamOptions): HostResult {
  return run(validateCbamCall(x, options, HOST_CHECKS));
}
