/**
 * The flash kernel's dispatches (shaders/sdpa.wgsl, entry `sdpa_forward`) for an attention call on
 * views, and with split-K the merge pass (shaders/sdpa-merge.wgsl). Takes no buffer but scratch of
 * the submission: the global-token bitset of a windowed call and the split partials.
 */
import type { GpuRuntime, KernelDispatch } from '../../gpu/runtime';
import { SHADERS, sdpaShader } from '../../shaders';
import { f16Tiles } from '../../gpu/kernel-features';
import { blockTileBits } from './block-tiles';
import { attentionInputs, type AttentionOperands, type LseView } from './operands';
import { MERGE_WORKGROUP_SIZE, pvBlock, qkBlock, type SdpaPlan } from './plan';

/**
 * The flash kernel's dispatches, writing lse [B, Hq, Lq] when options.returnLse: one, or two with a
 * key split (forward into partials, then the merge). Call inside `runtime.submit`, whose scope
 * gives the partials.
 * @example
 * const dispatches = encodeFlash(runtime, ops, planSdpa(ops.dims, device.limits), null);
 */
export function encodeFlash(
  runtime: GpuRuntime,
  ops: AttentionOperands,
  plan: SdpaPlan,
  lse: GPUBufferBinding | LseView | null,
): KernelDispatch[] {
  const { options } = ops;
  const { blockMask, topK } = options.variants;
  const tileBits = blockMask && blockTileBits(blockMask, ops.dims, { ...plan.tile, qBlocks: plan.qBlocks });
  const inputs = attentionInputs(runtime, ops, tileBits);
  const split = plan.merge;
  const f16 = f16Tiles(runtime.features, [ops.q.f16, ops.k.f16, ops.v.f16]);
  const shader = sdpaShader({ subgroups: runtime.features.subgroups, f16 });
  const pv = topK > 0 ? { rows: 4, cols: 1 } : pvBlock(plan.tile, plan.valueDimVec4);
  const qk = topK > 0 ? { side: 4, pairs: false } : qkBlock(plan.tile, plan.workgroupSize);
  const pipeline = runtime.pipelines.get(shader, topK > 0 ? 'sdpa_topk' : 'sdpa_forward', {
    BLOCK_Q: plan.tile.blockQ,
    TILE_KV: plan.tile.tileKv,
    HEAD_DIM_VEC4: plan.headDimVec4,
    VALUE_DIM_VEC4: plan.valueDimVec4,
    KV_STRIDE: plan.kvStride,
    WORKGROUP_SIZE: plan.workgroupSize,
    PV_ROWS: pv.rows,
    PV_COLS: pv.cols,
    QK_BLOCK: qk.side,
    QK_PAIRS: qk.pairs,
    ...inputs.overrides,
    WRITE_PARTIAL: split !== null,
    PAGED: ops.pages != null,
    // Decoding without grouped-query heads: one real row in a block of 4, computed alone.
    ONE_ROW: plan.tile.blockQ === 4 && plan.groupRows === 1 && topK === 0,
  });
  const uniforms = {
    ...inputs.uniforms,
    group_rows: plan.groupRows,
    q_blocks: plan.qBlocks,
    block_groups: plan.blockGroups,
    kv_splits: plan.kvSplits,
    tiles_per_split: plan.tilesPerSplit,
    head_dim_vec4: plan.headDimVec4,
    tile_kv: plan.tile.tileKv,
    groups_x: plan.workgroups[0],
    score_scale: options.softcap > 0 ? options.scale / options.softcap : options.scale,
    softcap: options.softcap,
    page_size: ops.pages?.pageSize ?? 0,
    ...inputs.flashUniforms,
  };
  // Where the lse goes: a binding, and the element of it where row 0's value lands.
  const lseView = lse === null ? null : 'resource' in lse ? lse : { resource: lse, elementOffset: 0 };
  const finalLse = lseView?.resource ?? { buffer: runtime.dummyOutput };
  const lseOffset = lseView?.elementOffset ?? 0;
  if (!split) {
    const buffers = { ...inputs.buffers, out: ops.out.resource, lse: finalLse };
    return [{ pipeline, uniforms: { ...uniforms, lse_offset: lseOffset }, buffers, workgroups: plan.workgroups }];
  }
  const { B, Hq, Lq, Dv } = ops.dims;
  const rows = B * Hq * Lq;
  const partialOut = runtime.scope.scratch(rows * plan.kvSplits * Dv * 4, 'sdpa split partial outputs');
  const partialStats = runtime.scope.scratch(rows * plan.kvSplits * 2 * 4, 'sdpa split partial max and sum');
  const forward = { ...inputs.buffers, out: partialOut, lse: partialStats };
  const merge = runtime.pipelines.get(SHADERS.sdpaMerge, 'sdpa_merge', {
    WORKGROUP_SIZE: MERGE_WORKGROUP_SIZE,
    WRITE_LSE: options.returnLse,
  });
  const o = ops.out;
  const mergeUniforms = {
    rows,
    q_heads: Hq,
    q_len: Lq,
    value_dim: Dv,
    kv_splits: plan.kvSplits,
    groups_x: split.workgroups[0],
    minus_infinity: -Infinity,
    o_offset: o.elementOffset,
    o_stride_b: o.strides[0],
    o_stride_h: o.strides[1],
    o_stride_s: o.strides[2],
    lse_offset: lseOffset,
  };
  const mergeBuffers = { partial_out: partialOut, partial_stats: partialStats, out: o.resource, lse: finalLse };
  return [
    { pipeline, uniforms: { ...uniforms, lse_offset: 0 }, buffers: forward, workgroups: plan.workgroups },
    { pipeline: merge, uniforms: mergeUniforms, buffers: mergeBuffers, workgroups: split.workgroups },
  ];
}
