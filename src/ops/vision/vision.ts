/**
 * `attn.channelAttention`, `attn.spatialAttention` and `attn.cbam`: attention over feature maps
 * (docs/semantics.md, "Attention over feature maps"). validate → plan → encode, one submission
 * each: the gates' pooling, MLP and convolution into scratch, then one rescale pass; nothing
 * returns to the host in between.
 */
import type { GpuRuntime } from '../../gpu/runtime';
import { GpuTensor } from '../../tensor';
import { encodeVision } from './encode';
import { planVision } from './plan';
import { validateVision, type VisionOp } from './validate';

export type { CbamOptions, ChannelAttentionOptions, SpatialAttentionOptions } from './validate';

function run(runtime: GpuRuntime, op: VisionOp, x: unknown, options: unknown): GpuTensor {
  const call = validateVision(runtime, op, x, options);
  const gates = { channel: call.channel !== null, spatial: call.spatial !== null };
  const plan = planVision(call.dims, call.layout, gates, runtime.device.limits);
  const { channel, spatial } = call;
  const inputs = [call.x, channel?.w1, channel?.b1, channel?.w2, channel?.b2, spatial?.weight, spatial?.bias];
  const { N, C, H, W } = call.dims;
  const { result, ready } = runtime.submit(inputs, (scope) => {
    const take = (elements: number, what: string) =>
      elements > 0 ? scope.scratch(elements * 4, `${op} ${what}`) : null;
    const buffers = {
      channelPool: take(plan.scratch.channelPool, 'channel pools (mean, max)'),
      gate: take(plan.scratch.gate, 'channel gate'),
      maps: take(plan.scratch.maps, 'spatial maps (mean, max)'),
      spatialGate: take(plan.scratch.spatialGate, 'spatial gate'),
      out: scope.output(call.x.size * 4, `${op} output`),
    };
    const dispatches = encodeVision(runtime, call, plan, buffers);
    return { label: `${op}[N=${N},C=${C},H=${H},W=${W},${call.layout}]`, dispatches, result: buffers.out };
  });
  return new GpuTensor(runtime, result.buffer, call.x.shape, 0, true, ready);
}

/**
 * Channel attention: squeeze-and-excitation (`pooling: 'avg'`) or CBAM's channel gate ('avg+max').
 * @example
 * const y = channelAttention(runtime, x, { w1, w2, b1, b2, pooling: 'avg' }); // x [N, C, H, W], w1 [C/r, C]
 */
export function channelAttention(runtime: GpuRuntime, x: unknown, options: unknown): GpuTensor {
  return run(runtime, 'channel', x, options);
}

/**
 * CBAM's spatial attention: [mean, max] over channels → k×k convolution → σ → each position scaled.
 * @example
 * const y = spatialAttention(runtime, x, { weight }); // weight [1, 2, 7, 7]
 */
export function spatialAttention(runtime: GpuRuntime, x: unknown, options: unknown): GpuTensor {
  return run(runtime, 'spatial', x, options);
}

/**
 * CBAM: the channel gate ('avg+max'), then the spatial gate, in one submission.
 * @example
 * const y = cbam(runtime, x, { channel: { w1, w2 }, spatial: { weight }, layout: 'nhwc' });
 */
export function cbam(runtime: GpuRuntime, x: unknown, options: unknown): GpuTensor {
  return run(runtime, 'cbam', x, options);
}
