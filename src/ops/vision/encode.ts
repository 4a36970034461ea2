/**
 * The dispatches of a feature-map attention call (shaders/vision.wgsl): the channel gate's pooling
 * and MLP, the spatial gate's pooling and convolution, the rescale, in that order, for one
 * `runtime.submit`. Nothing here takes a buffer: the op passes its scratch and output.
 */
import type { ValidatedVision } from '../../contract/vision';
import type { GpuRuntime, KernelDispatch } from '../../gpu/runtime';
import { SHADERS } from '../../shaders';
import type { GpuTensor } from '../../tensor';
import type { PoolPass, VisionPlan } from './plan';

/** Where the passes write and read: scratch of the submission, and the output. */
export interface VisionBuffers {
  channelPool: GPUBufferBinding | null;
  gate: GPUBufferBinding | null;
  maps: GPUBufferBinding | null;
  spatialGate: GPUBufferBinding | null;
  out: GPUBufferBinding;
}

/** A tensor's binding and element offset, or the dummy (offset 0) when absent. */
function bind(runtime: GpuRuntime, t: GpuTensor | null | undefined): { resource: GPUBufferBinding; offset: number } {
  if (!t) return { resource: { buffer: runtime.dummy }, offset: 0 };
  const { resource, elementOffset } = t.binding();
  return { resource, offset: elementOffset };
}

function poolUniforms(pass: PoolPass) {
  const { items, reduce, blocks, strideN, strideK, strideR, workgroupCount, workgroups } = pass;
  return {
    items,
    reduce,
    blocks,
    stride_n: strideN,
    stride_k: strideK,
    stride_r: strideR,
    total: workgroupCount,
    groups_x: workgroups[0],
  };
}

/**
 * The dispatches of `call` under `plan`, writing x's shape (f32) to `buffers.out`.
 * @example
 * const dispatches = encodeVision(runtime, call, planVision(call.dims, call.layout, gates, limits), buffers);
 */
export function encodeVision(
  runtime: GpuRuntime,
  call: ValidatedVision<GpuTensor>,
  plan: VisionPlan,
  buffers: VisionBuffers,
): KernelDispatch[] {
  const { N, C, H, W } = call.dims;
  const { channel, spatial } = call;
  const [x, w1, b1, w2, b2] = [call.x, channel?.w1, channel?.b1, channel?.w2, channel?.b2].map((t) => bind(runtime, t));
  const [weight, bias] = [spatial?.weight, spatial?.bias].map((t) => bind(runtime, t));
  const base = {
    ...{
      channels: C,
      positions: H * W,
      height: H,
      width: W,
      hidden: channel?.hidden ?? 0,
      kernel: spatial?.kernel ?? 0,
    },
    ...{ items: 0, reduce: 0, blocks: 0, stride_n: 0, stride_k: 0, stride_r: 0, total: 0, groups_x: 0 },
    ...{ x_offset: x.offset, w1_offset: w1.offset, b1_offset: b1.offset, w2_offset: w2.offset, b2_offset: b2.offset },
    ...{ conv_weight_offset: weight.offset, conv_bias_offset: bias.offset },
  };
  const dummy = { buffer: runtime.dummy };
  const size = plan.workgroupSize;
  const get = (entry: string, overrides: Record<string, number | boolean>) =>
    runtime.pipelines.get(SHADERS.vision, entry, { WORKGROUP_SIZE: size, ...overrides });
  const pool = (
    pass: PoolPass,
    gated: boolean,
    gate: GPUBufferBinding | null,
    into: GPUBufferBinding,
  ): KernelDispatch => ({
    pipeline: get('vision_pool', {
      KEEP_TILE: pass.keepTile,
      LANES: pass.lanes,
      LANES_INNER: pass.lanesInner,
      GATED: gated,
    }),
    uniforms: { ...base, ...poolUniforms(pass) },
    buffers: { x: x.resource, gate: gate ?? dummy, pooled_out: into },
    workgroups: pass.workgroups,
  });
  const dispatches: KernelDispatch[] = [];
  if (plan.channel && channel) {
    dispatches.push(pool(plan.channel.pool, false, null, buffers.channelPool!));
    const mlp = plan.channel.mlp;
    dispatches.push({
      pipeline: get('vision_channel_mlp', {
        AVG_MAX: channel.pooling === 'avg+max',
        HAS_B1: !!channel.b1,
        HAS_B2: !!channel.b2,
      }),
      uniforms: { ...base, total: mlp.count, groups_x: mlp.workgroups[0] },
      buffers: {
        pooled: buffers.channelPool!,
        w1: w1.resource,
        b1: b1.resource,
        w2: w2.resource,
        b2: b2.resource,
        gate_out: buffers.gate!,
      },
      workgroups: mlp.workgroups,
    });
  }
  if (plan.spatial && spatial) {
    dispatches.push(pool(plan.spatial.pool, channel !== null, buffers.gate, buffers.maps!));
    const conv = plan.spatial.conv;
    dispatches.push({
      pipeline: get('vision_spatial_conv', { HAS_CONV_BIAS: !!spatial.bias }),
      uniforms: { ...base, total: conv.count, groups_x: conv.workgroups[0] },
      buffers: {
        pooled: buffers.maps!,
        conv_weight: weight.resource,
        conv_bias: bias.resource,
        smap_out: buffers.spatialGate!,
      },
      workgroups: conv.workgroups,
    });
  }
  dispatches.push({
    pipeline: get('vision_scale', {
      ELEMENTS: plan.scale.elements,
      NHWC: call.layout === 'nhwc',
      HAS_CHANNEL: channel !== null,
      HAS_SPATIAL: spatial !== null,
    }),
    uniforms: { ...base, total: plan.scale.count, groups_x: plan.scale.workgroups[0] },
    buffers: { x: x.resource, gate: buffers.gate ?? dummy, smap: buffers.spatialGate ?? dummy, out: buffers.out },
    workgroups: plan.scale.workgroups,
  });
  return dispatches;
}
