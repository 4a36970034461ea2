/**
 * The neighbourhood kernel's dispatch (shaders/local.wgsl, entry `local_neighborhood`): overrides
 * from the plan and the window, uniforms from the call's sizes and layout. Takes no buffer.
 */
import { neighborhoodStrides } from '../../contract/neighborhood';
import type { GpuRuntime, KernelDispatch } from '../../gpu/runtime';
import { SHADERS } from '../../shaders';
import type { NeighborhoodPlan } from './plan';
import type { LocalCall } from './validate';

/** Uniform fields `<prefix>_offset`, `<prefix>_stride_b/h/y/x` of one tensor. */
function tensorFields(
  prefix: string,
  elementOffset: number,
  strides: [number, number, number, number],
): Record<string, number> {
  return {
    [`${prefix}_offset`]: elementOffset,
    [`${prefix}_stride_b`]: strides[0],
    [`${prefix}_stride_h`]: strides[1],
    [`${prefix}_stride_y`]: strides[2],
    [`${prefix}_stride_x`]: strides[3],
  };
}

function localUniforms(call: LocalCall, plan: NeighborhoodPlan, groupsX: number): Record<string, number> {
  const { dims, options } = call;
  const s = (heads: number, dim: number) => neighborhoodStrides(options.layout, heads, dims.Y, dims.X, dim);
  return {
    batch: dims.B,
    q_heads: dims.Hq,
    kv_group: dims.Hq / dims.Hkv,
    head_dim: dims.D,
    value_dim: dims.Dv,
    qk_chunks: plan.qkChunks,
    v_chunks: plan.vChunks,
    groups_x: groupsX,
    map_y: dims.Y,
    map_x: dims.X,
    dilation_y: options.dilation[0],
    dilation_x: options.dilation[1],
    kernel_y: options.kernel[0],
    kernel_x: options.kernel[1],
    tiles_y: plan.tiles[0],
    tiles_x: plan.tiles[1],
    scale: options.scale,
    minus_infinity: -Infinity,
    ...tensorFields('q', call.q.binding().elementOffset, s(dims.Hq, dims.D)),
    ...tensorFields('k', call.k.binding().elementOffset, s(dims.Hkv, dims.D)),
    ...tensorFields('v', call.v.binding().elementOffset, s(dims.Hkv, dims.Dv)),
    ...tensorFields('o', 0, s(dims.Hq, dims.Dv)),
    rpb_offset: call.rpb?.binding().elementOffset ?? 0,
  };
}

function localOverrides(call: LocalCall, plan: NeighborhoodPlan): Record<string, number | boolean> {
  const { kernel, causal } = call.options;
  return {
    TILE_Y: plan.tile.y,
    TILE_X: plan.tile.x,
    KERNEL_Y: kernel[0],
    KERNEL_X: kernel[1],
    CHUNK_VEC4: plan.chunkVec4,
    WORKGROUP_SIZE: plan.workgroupSize,
    HAS_RPB: call.rpb !== null,
    IS_CAUSAL_Y: causal[0],
    IS_CAUSAL_X: causal[1],
    Q_F16: call.q.dtype === 'f16',
    K_F16: call.k.dtype === 'f16',
    V_F16: call.v.dtype === 'f16',
    RPB_F16: call.rpb?.dtype === 'f16',
  };
}

/**
 * One dispatch of `local_neighborhood` writing the output to `out` (in the call's layout).
 * @example
 * const dispatch = encodeNeighborhood(runtime, call, planNeighborhood(call.dims, kernel, dilation, limits), out);
 */
export function encodeNeighborhood(
  runtime: GpuRuntime,
  call: LocalCall,
  plan: NeighborhoodPlan,
  out: GPUBufferBinding,
): KernelDispatch {
  const pipeline = runtime.pipelines.get(SHADERS.local, 'local_neighborhood', localOverrides(call, plan));
  const buffers = {
    q: call.q.binding().resource,
    k: call.k.binding().resource,
    v: call.v.binding().resource,
    rpb: call.rpb ? call.rpb.binding().resource : { buffer: runtime.dummy },
    out,
  };
  const uniforms = localUniforms(call, plan, plan.workgroups[0]);
  return { pipeline, uniforms, buffers, workgroups: plan.workgroups };
}
