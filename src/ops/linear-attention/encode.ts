/**
 * The dispatches of a linear-attention call (shaders/linear-attention.wgsl): the state pass into
 * the partials (scratch of the submission), then the output pass. Call inside `runtime.submit`.
 */
import type { GpuRuntime, KernelDispatch } from '../../gpu/runtime';
import { SHADERS } from '../../shaders';
import type { LinearAttentionPass, LinearAttentionPlan } from './plan';
import type { ValidatedLinearAttention } from './validate';

/** Uniforms of one pass. */
function passUniforms(p: LinearAttentionPass): Record<string, number> {
  return {
    segments: p.segments,
    segment_chunks: p.segmentChunks,
    workgroups: p.workgroupCount,
    groups_x: p.workgroups[0],
  };
}

/**
 * The state pass (when the plan has one) and the output pass, writing out [B, Hq, Lq, Dv] (f32)
 * from element 0 of `out`.
 * @example
 * const dispatches = encodeLinearAttention(runtime, call, planLinearAttention(call.dims, false, limits), out);
 */
export function encodeLinearAttention(
  runtime: GpuRuntime,
  call: ValidatedLinearAttention,
  plan: LinearAttentionPlan,
  out: GPUBufferBinding,
): KernelDispatch[] {
  const { dims, options } = call;
  const [q, k, v] = [call.q.binding(), call.k.binding(), call.v.binding()];
  const shared = {
    HEAD_DIM_VEC4: plan.headDimVec4,
    VALUE_TILE_VEC4: plan.tile.valueTileVec4,
    CHUNK: plan.tile.chunk,
    WORKGROUP_SIZE: plan.workgroupSize,
    FEATURE_RELU: options.featureMap === 'relu',
    K_F16: call.k.dtype === 'f16',
    V_F16: call.v.dtype === 'f16',
  };
  const uniforms = {
    q_heads: dims.Hq,
    kv_heads: dims.Hkv,
    q_len: dims.Lq,
    kv_len: dims.Lk,
    head_dim: dims.D,
    value_dim: dims.Dv,
    dv_tiles: plan.dvTiles,
    kv_segments: plan.kvSegments,
    q_offset: q.elementOffset,
    k_offset: k.elementOffset,
    v_offset: v.elementOffset,
    z_at: plan.zAt,
    eps: options.eps,
  };
  const partials =
    plan.partialElements > 0
      ? runtime.scope.scratch(plan.partialElements * 4, 'linear_attention partials (Σφ(k)ᵀv, Σφ(k) per segment)')
      : { buffer: runtime.dummy };
  const dispatches: KernelDispatch[] = [];
  const inputs = { q: q.resource, k: k.resource, v: v.resource };
  if (plan.state) {
    dispatches.push({
      pipeline: runtime.pipelines.get(SHADERS.linearAttention, 'linear_attention_state', shared),
      uniforms: { ...uniforms, ...passUniforms(plan.state) },
      buffers: { ...inputs, partials: { buffer: runtime.dummy }, partials_out: partials },
      workgroups: plan.state.workgroups,
    });
  }
  const output = { ...shared, IS_CAUSAL: options.causal, Q_F16: call.q.dtype === 'f16' };
  dispatches.push({
    pipeline: runtime.pipelines.get(SHADERS.linearAttention, 'linear_attention_output', output),
    uniforms: { ...uniforms, ...passUniforms(plan.output) },
    buffers: { ...inputs, partials, out },
    workgroups: plan.output.workgroups,
  });
  return dispatches;
}
