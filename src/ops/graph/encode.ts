/**
 * The dispatches of a graph-attention call: h = x·Wᵀ through the GEMM (linear.wgsl) into scratch,
 * then shaders/graph.wgsl's graph_scores (the two attention terms of each node and head),
 * graph_softmax (α per CSR slot and head) and graph_aggregate (each output element over its node's
 * CSR segment). Takes no buffer: the op gives the scratch and the outputs.
 */
import type { Overrides } from '../../gpu/pipeline-cache';
import type { GpuRuntime, KernelDispatch } from '../../gpu/runtime';
import { SHADERS } from '../../shaders';
import { encodeMatmul, operandOf, plainOutput } from '../linear/encode';
import type { GraphAttentionPlan } from './plan';
import type { GpuGraphAttention } from './validate';

type Grid = [number, number, number];

/** Where a graph-attention call writes. */
export interface GraphAttentionBuffers {
  /** h [N, H·F], f32 scratch. */
  h: GPUBufferBinding;
  /** The two terms of each (node, head) [N·H, 2], f32 scratch. */
  scores: GPUBufferBinding;
  /** α per CSR slot and head [E', H], f32 scratch. */
  alpha: GPUBufferBinding;
  /** [N, H·F] or [N, F]. */
  out: GPUBufferBinding;
  /** [E', H] with returnWeights. */
  weights: GPUBufferBinding | null;
}

/**
 * Every dispatch of a graph-attention call, in order: the projection, the scores, the softmax, the sums.
 * Call inside `runtime.submit`.
 * @example
 * const dispatches = encodeGraphAttention(runtime, call, planGraphAttention(call.dims, limits, true, false), buffers);
 */
export function encodeGraphAttention(
  runtime: GpuRuntime,
  call: GpuGraphAttention,
  plan: GraphAttentionPlan,
  buffers: GraphAttentionBuffers,
): KernelDispatch[] {
  const { N, Fin, H, F } = call.dims;
  const project = encodeMatmul(
    runtime,
    {
      x: operandOf(call.x),
      xStrideM: Fin,
      M: N,
      K: Fin,
      weight: operandOf(call.weight),
      N: H * F,
      out: plainOutput(buffers.h, N, H * F),
    },
    plan.project,
  );
  const [attSrc, attDst] = [call.attSrc.binding(), call.attDst.binding()];
  const bias = call.bias?.binding();
  const uniforms = {
    num_nodes: N,
    negative_slope: call.negativeSlope,
    minus_infinity: -Infinity,
    not_a_number: NaN,
    att_src_offset: attSrc.elementOffset,
    att_dst_offset: attDst.elementOffset,
    bias_offset: bias?.elementOffset ?? 0,
  };
  const sizes = { HEADS: H, FEATURES: F, WORKGROUP_SIZE: plan.workgroupSize };
  const { graph } = call;
  const csr = { row_ptr: { buffer: graph.rowPtr }, sources: { buffer: graph.sources } };
  const pass = (entry: string, overrides: Overrides, bindings: Record<string, GPUBufferBinding>, workgroups: Grid) => ({
    pipeline: runtime.pipelines.get(SHADERS.graph, entry, { ...sizes, ...overrides }),
    uniforms: { ...uniforms, groups_x: workgroups[0] },
    buffers: bindings,
    workgroups,
  });
  return [
    project,
    pass(
      'graph_scores',
      {},
      { hfeat: buffers.h, att_src: attSrc.resource, att_dst: attDst.resource, scores: buffers.scores },
      plan.perHead,
    ),
    pass(
      'graph_softmax',
      { RETURN_WEIGHTS: buffers.weights !== null },
      {
        ...csr,
        edge_ids: { buffer: graph.edgeIds },
        scores: buffers.scores,
        alpha: buffers.alpha,
        weights: buffers.weights ?? { buffer: runtime.dummyOutput },
      },
      plan.perHead,
    ),
    pass(
      'graph_aggregate',
      { CONCAT: call.concat, HAS_BIAS: bias !== undefined },
      {
        ...csr,
        hfeat: buffers.h,
        bias: bias?.resource ?? { buffer: runtime.dummy },
        alpha: buffers.alpha,
        out: buffers.out,
      },
      plan.perColumn,
    ),
  ];
}
