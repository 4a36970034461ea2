/**
 * `attn.graphAttention`: graph attention as PyTorch Geometric's GATConv on a graph made by
 * `attn.graph`. validate → plan → encode, one submission: the projection GEMM, the node scores, the
 * softmax over each node's incoming edges, the weighted sums.
 */
import type { GpuRuntime } from '../../gpu/runtime';
import { GpuTensor } from '../../tensor';
import { encodeGraphAttention } from './encode';
import { planGraphAttention } from './plan';
import { validateGraphAttention, type GraphAttentionOutputs } from './validate';

/**
 * Runs GATConv's forward: h = x·Wᵀ in H heads; α = softmax over the edges into each node of
 * LeakyReLU(attSrc·hⱼ + attDst·hᵢ); output Σ α·hⱼ, heads concatenated [N, H·F] or averaged [N, F],
 * plus bias. Returns the output, or `{ output, weights }` (weights [E', H]) with `returnWeights`.
 * @example
 * const y = graphAttention(runtime, x, graph, { weight, attSrc, attDst, heads: 3 }); // x [N, Fin] → [N, 3·F]
 */
export function graphAttention(
  runtime: GpuRuntime,
  x: unknown,
  graph: unknown,
  options: unknown,
): GpuTensor | GraphAttentionOutputs {
  const call = validateGraphAttention(runtime, x, graph, options);
  const plan = planGraphAttention(call.dims, runtime.device.limits, call.concat, call.returnWeights);
  const { N, H, F, E } = call.dims;
  const inputs = [call.x, call.weight, call.attSrc, call.attDst, call.bias];
  const { result, ready } = runtime.submit(inputs, (scope) => {
    const buffers = {
      h: scope.scratch(N * H * F * 4, 'graph attention projection h'),
      scores: scope.scratch(N * H * 2 * 4, 'graph attention node scores'),
      alpha: scope.scratch(Math.max(1, E * H) * 4, 'graph attention α per slot'),
      out: scope.output(N * plan.outWidth * 4, 'graph attention output'),
      weights: call.returnWeights ? scope.output(E * H * 4, 'graph attention weights') : null,
    };
    const dispatches = encodeGraphAttention(runtime, call, plan, buffers);
    return { label: `graphAttention[N=${N},E=${E},H=${H},F=${F}]`, dispatches, result: buffers };
  });
  const output = new GpuTensor(runtime, result.out.buffer, [N, plan.outWidth], 0, true, ready);
  if (!result.weights) return output;
  return { output, weights: new GpuTensor(runtime, result.weights.buffer, [E, H], 0, true, ready) };
}
