/**
 * Validation of `attn.graph` and `attn.graphAttention` on the GPU: the contract's checks (shared
 * with the reference twins) with tensors and graphs of this context, plus what only the GPU has
 * (buffer limits). Nothing past this point throws an AttentionError but the plan's device checks.
 */
import {
  graphEdges,
  validateGraphAttentionCall,
  type GraphAttentionOptionsOf,
  type GraphAttentionOutputsOf,
  type GraphEdges,
  type ValidatedGraphAttention,
} from '../../contract/graph';
import type { TensorChecks } from '../../contract/multi-head-options';
import { AttentionError, describe } from '../../errors';
import { checkFits } from '../../gpu/limits';
import type { GpuRuntime } from '../../gpu/runtime';
import { checkTensor, type GpuTensor } from '../../tensor';
import { graphStateOf, type GraphState } from './state';

/** Options of `attn.graphAttention`: f32 GpuTensors for the weights. */
export type GraphAttentionOptions = GraphAttentionOptionsOf<GpuTensor>;

/** What `attn.graphAttention` returns with `returnWeights: true`. */
export type GraphAttentionOutputs = GraphAttentionOutputsOf<GpuTensor>;

/** The type of `returnWeights` in options `O` (undefined when absent). */
type WeightsFlag<O> = 'returnWeights' extends keyof O ? O[keyof O & 'returnWeights'] : undefined;

/** What a call with options `O` returns: `{ output, weights }` with `returnWeights: true`, the output without. */
export type GraphAttentionResult<O> = [WeightsFlag<O>] extends [true]
  ? GraphAttentionOutputs
  : [WeightsFlag<O>] extends [false | undefined]
    ? GpuTensor
    : GpuTensor | GraphAttentionOutputs;

/** A checked call on the GPU: the graph as its state. */
export type GpuGraphAttention = ValidatedGraphAttention<GpuTensor, GraphState>;

/**
 * Checks an edge index, numNodes and the options of `attn.graph`, and that the graph's buffers can
 * exist on this device; returns the edges after the self-loop rule.
 * @example
 * validateGraph(runtime, { data: new Int32Array([0, 1]), shape: [2, 1] }, 2, {}).sources; // [0, 0, 1]
 */
export function validateGraph(
  runtime: GpuRuntime,
  edgeIndex: unknown,
  numNodes: unknown,
  options: unknown,
): GraphEdges {
  runtime.assertAlive();
  const edges = graphEdges(edgeIndex, numNodes, options);
  const E = edges.sources.length;
  checkFits(runtime.device.limits, 'numNodes', edges.numNodes + 1, (edges.numNodes + 1) * 4);
  checkFits(runtime.device.limits, 'edgeIndex', E, E * 4);
  return edges;
}

/** A live graph of this context, or an AttentionError on `argument`. */
function graphOf(runtime: GpuRuntime, argument: string, value: unknown): GraphState {
  const state = graphStateOf(value);
  if (!state) throw new AttentionError(argument, describe(value), 'a graph made by attn.graph(edgeIndex, numNodes)');
  if (state.destroyed) {
    throw new AttentionError(argument, 'a destroyed graph', 'a live graph (do not use a graph after destroy())');
  }
  if (state.runtime.id !== runtime.id) {
    throw new AttentionError(
      argument,
      `a graph of context #${state.runtime.id}`,
      `a graph of this context (#${runtime.id}); make it again with attn.graph()`,
    );
  }
  return state;
}

/** f32 GpuTensors of this context, live and contiguous, each within one binding. */
function gpuChecks(runtime: GpuRuntime): TensorChecks<GpuTensor> {
  return {
    tensor: (argument, value) => checkTensor(runtime, argument, value),
    isBool: () => false,
    contents: (argument, t) => checkFits(runtime.device.limits, argument, t.size, t.size * t.bytesPerElement),
  };
}

/**
 * Checks every argument of a graph-attention call.
 * @example
 * const call = validateGraphAttention(runtime, x, graph, { weight, attSrc, attDst, heads: 3 });
 * call.dims; // { N, Fin, H: 3, F, E }
 */
export function validateGraphAttention(
  runtime: GpuRuntime,
  x: unknown,
  graph: unknown,
  options: unknown,
): GpuGraphAttention {
  runtime.assertAlive();
  return validateGraphAttentionCall(x, graph, options, gpuChecks(runtime), (argument, value) =>
    graphOf(runtime, argument, value),
  );
}
