/**
 * The flash kernel's dispatch (shaders/sdpa.wgsl, entry `sdpa_forward`) for an attention call on
 * views. Takes no buffer but the global-token bitset of a windowed call (scratch of the submission).
 */
import type { GpuRuntime, KernelDispatch } from '../../gpu/runtime';
import { SHADERS } from '../../shaders';
import { attentionInputs, type AttentionOperands } from './operands';
import type { SdpaPlan } from './plan';

/**
 * The flash kernel's dispatch, writing lse [B, Hq, Lq] when options.returnLse. The caller submits it
 * inside `runtime.submit`.
 * @example
 * const dispatch = encodeFlash(runtime, ops, planSdpa(ops.dims, device.limits), null);
 */
export function encodeFlash(
  runtime: GpuRuntime,
  ops: AttentionOperands,
  plan: SdpaPlan,
  lse: GPUBufferBinding | null,
): KernelDispatch {
  const { options } = ops;
  const inputs = attentionInputs(runtime, ops);
  const pipeline = runtime.pipelines.get(SHADERS.sdpa, 'sdpa_forward', {
    BLOCK_Q: plan.tile.blockQ,
    TILE_KV: plan.tile.tileKv,
    HEAD_DIM_VEC4: plan.headDimVec4,
    VALUE_DIM_VEC4: plan.valueDimVec4,
    KV_STRIDE: plan.kvStride,
    WORKGROUP_SIZE: plan.workgroupSize,
    ...inputs.overrides,
  });
  const uniforms = {
    ...inputs.uniforms,
    q_blocks: plan.qBlocks,
    head_dim_vec4: plan.headDimVec4,
    tile_kv: plan.tile.tileKv,
    groups_x: plan.workgroups[0],
    score_scale: options.softcap > 0 ? options.scale / options.softcap : options.scale,
    softcap: options.softcap,
  };
  const buffers = { ...inputs.buffers, out: ops.out.resource, lse: lse ?? { buffer: runtime.dummyOutput } };
  return { pipeline, uniforms, buffers, workgroups: plan.workgroups };
}
