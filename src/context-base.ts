/**
 * The base of {@link AttentionContext} (src/context.ts): the runtime every operation encodes with,
 * and the methods of the operations past what fits in context.ts's 300 lines — attention over
 * feature maps (channel, spatial, CBAM) and attention rollout. Each forwards to its file in src/ops/.
 */
import { GpuRuntime } from './gpu/runtime';
import { attentionRollout } from './ops/rollout/rollout';
import type { RolloutOptions } from './contract/rollout';
import {
  cbam,
  channelAttention,
  spatialAttention,
  type CbamOptions,
  type ChannelAttentionOptions,
  type SpatialAttentionOptions,
} from './ops/vision/vision';
import type { GpuTensor } from './tensor';

export abstract class ContextBase {
  /** @internal What operations encode with. */
  readonly runtime: GpuRuntime;

  /** @internal Made by AttentionContext. */
  constructor(device: GPUDevice) {
    this.runtime = new GpuRuntime(device);
  }

  /** Log each new pipeline's source and overrides. */
  get debug(): boolean {
    return this.runtime.pipelines.debug;
  }
  set debug(on: boolean) {
    this.runtime.pipelines.debug = on;
  }

  /**
   * Channel attention: global pooling → w1 → ReLU → w2 → sigmoid → each channel scaled.
   * `pooling: 'avg'` is squeeze-and-excitation (torchvision's SqueezeExcitation: fc1.weight
   * [C/r, C, 1, 1] and fc2.weight [C, C/r, 1, 1] are taken as they are); `'avg+max'` is CBAM's
   * channel gate (both pooled vectors through the shared MLP, summed before the sigmoid).
   * x [N, C, H, W] (`layout: 'nhwc'`: [N, H, W, C]) → the same shape.
   * @example
   * const y = attn.channelAttention(x, { w1, b1, w2, b2, pooling: 'avg' }); // w1 [C/r, C], w2 [C, C/r]
   */
  channelAttention(x: GpuTensor, options: ChannelAttentionOptions): GpuTensor {
    return channelAttention(this.runtime, x, options);
  }

  /**
   * CBAM's spatial attention: the mean and max over channels (in that order), a k×k convolution
   * (zero padding ⌊k/2⌋, k odd), sigmoid, each position scaled.
   * @example
   * const y = attn.spatialAttention(x, { weight, bias }); // weight [1, 2, 7, 7], bias [1]
   */
  spatialAttention(x: GpuTensor, options: SpatialAttentionOptions): GpuTensor {
    return spatialAttention(this.runtime, x, options);
  }

  /**
   * CBAM (Woo et al. 2018): the channel gate with 'avg+max' pooling, then the spatial gate, in one
   * submission.
   * @example
   * const y = attn.cbam(x, { channel: { w1, b1, w2, b2 }, spatial: { weight }, layout: 'nhwc' });
   */
  cbam(x: GpuTensor, options: CbamOptions): GpuTensor {
    return cbam(this.runtime, x, options);
  }

  /**
   * Attention rollout (Abnar and Zuidema 2020) over per-layer weights [B, H, L, L] (or [B, L, L]),
   * first layer first: each layer's heads fused, the lowest weights of each row discarded, the
   * identity mixed in (`residual`), then R = Â_N ⋯ Â_1 [B, L, L].
   * @example
   * const { weights } = mha.forward(x, { needWeights: true, averageHeads: false }); // one per layer
   * const r = attn.attentionRollout([w1, w2, w3], { headFusion: 'mean', discardRatio: 0.9 });
   */
  attentionRollout(weights: readonly GpuTensor[], options: RolloutOptions): GpuTensor {
    return attentionRollout(this.runtime, weights, options);
  }
}
