/**
 * Graph attention on the CPU in float64 (PyTorch Geometric's GATConv): the oracle of `attn.graph`
 * and `attn.graphAttention` (docs/semantics.md §19). Edges are grouped by target with plain lists,
 * independently of the GPU's CSR build.
 */
import {
  graphEdges,
  validateGraphAttentionCall,
  type EdgeIndex,
  type GraphAttentionOptionsOf,
  type GraphAttentionOutputsOf,
  type GraphEdges,
  type GraphOptions,
  type ValidatedGraphAttention,
} from '../contract/graph';
import type { HostResult, HostTensor } from '../contract/types';
import { AttentionError, describe } from '../errors';
import { float64, HOST_CHECKS } from './score-functions';
import { accumulateRow, softmaxRow } from './softmax';

/** A graph made by `reference.graph`: its edges after the self-loop rule, on the host. */
export interface HostGraph {
  readonly numNodes: number;
  /** E': the edges attention runs over, self-loops included. */
  readonly numEdges: number;
  readonly addSelfLoops: boolean;
  /** [2, E']: the edges in the order of the weights' rows (PyG's returned edge_index). */
  readonly edgeIndex: { readonly data: Int32Array; readonly shape: readonly number[] };
}

/** Options of `reference.graphAttention`: host tensors for the weights. */
export type ReferenceGraphAttentionOptions = GraphAttentionOptionsOf<HostTensor>;

/** What `reference.graphAttention` returns with `returnWeights: true`. */
export type ReferenceGraphAttentionOutputs = GraphAttentionOutputsOf<HostResult>;

const edgesOf = new WeakMap<object, GraphEdges>();

/**
 * The host twin of `attn.graph`: checks `edgeIndex` [2, E] (row 0 sources, row 1 targets) against
 * numNodes and applies PyG's self-loop rule (default: drop the loops given, append one per node).
 * @example
 * const g = graph({ data: new Int32Array([0, 1, 1, 2]), shape: [2, 2] }, 3); // edges 0 → 1, 1 → 2
 * g.numEdges; // 5: the two edges, then the loops of nodes 0, 1, 2
 */
export function graph(edgeIndex: EdgeIndex, numNodes: number, options?: GraphOptions): HostGraph {
  const edges = graphEdges(edgeIndex, numNodes, options);
  const E = edges.sources.length;
  const data = new Int32Array(2 * E);
  data.set(edges.sources);
  data.set(edges.targets, E);
  const g: HostGraph = Object.freeze({
    numNodes: edges.numNodes,
    numEdges: E,
    addSelfLoops: edges.addSelfLoops,
    edgeIndex: Object.freeze({ data, shape: Object.freeze([2, E]) }),
  });
  edgesOf.set(g, edges);
  return g;
}

/** A graph made by reference.graph(), or an AttentionError on `argument`. */
function hostGraphOf(argument: string, value: unknown): { numNodes: number; numEdges: number; edges: GraphEdges } {
  const edges = typeof value === 'object' && value !== null ? edgesOf.get(value) : undefined;
  if (!edges)
    throw new AttentionError(argument, describe(value), 'a graph made by reference.graph(edgeIndex, numNodes)');
  return { numNodes: edges.numNodes, numEdges: edges.sources.length, edges };
}

/** h = x·Wᵀ [N, H·F] and each node's two attention terms [N, H] per side, in float64. */
function nodeTerms(call: ValidatedGraphAttention<HostTensor, unknown>) {
  const { N, Fin, H, F } = call.dims;
  const [x, w, as, ad] = [call.x, call.weight, call.attSrc, call.attDst].map(float64);
  const h = new Float64Array(N * H * F);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < H * F; c++) {
      let sum = 0;
      for (let k = 0; k < Fin; k++) sum += x[n * Fin + k] * w[c * Fin + k];
      h[n * H * F + c] = sum;
    }
  }
  const [src, dst] = [new Float64Array(N * H), new Float64Array(N * H)];
  for (let n = 0; n < N; n++) {
    for (let head = 0; head < H; head++) {
      for (let f = 0; f < F; f++) {
        src[n * H + head] += as[head * F + f] * h[(n * H + head) * F + f];
        dst[n * H + head] += ad[head * F + f] * h[(n * H + head) * F + f];
      }
    }
  }
  return { h, src, dst };
}

/** Each node's incoming edges, in the graph's edge order. */
function incoming(edges: GraphEdges): number[][] {
  const lists = Array.from({ length: edges.numNodes }, () => [] as number[]);
  edges.targets.forEach((t, e) => lists[t].push(e));
  return lists;
}

/** graphAttention returning the weights. */
export function graphAttention(
  x: HostTensor,
  graph: HostGraph,
  options: ReferenceGraphAttentionOptions & { returnWeights: true },
): ReferenceGraphAttentionOutputs;
/** graphAttention returning the output only. */
export function graphAttention(
  x: HostTensor,
  graph: HostGraph,
  options: ReferenceGraphAttentionOptions & { returnWeights?: false },
): HostResult;
/** graphAttention whose return shape is only known at run time. */
export function graphAttention(
  x: HostTensor,
  graph: HostGraph,
  options: ReferenceGraphAttentionOptions,
): HostResult | ReferenceGraphAttentionOutputs;
/**
 * GATConv in float64: h = x·Wᵀ in H heads of F; for each edge j → i, e = LeakyReLU(attSrc·hⱼ +
 * attDst·hᵢ); α = softmax of e over the edges into i; output Σ α·hⱼ, heads concatenated [N, H·F]
 * or averaged [N, F], plus bias. A node with no incoming edge gets the bias (or zeros).
 * @example
 * const g = graph({ data: new Int32Array([0, 1]), shape: [2, 1] }, 2, { addSelfLoops: false });
 * const t = (data: number[], shape: number[]) => ({ data, shape });
 * graphAttention(t([1, 2], [2, 1]), g, { weight: t([1], [1, 1]), attSrc: t([1], [1, 1]), attDst: t([1], [1, 1]), heads: 1 }).data;
 * // Float64Array [0, 1]: node 1's one edge has α = 1 and brings h₀ = 1; node 0 has none
 */
export function graphAttention(
  x: HostTensor,
  graph: HostGraph,
  options: ReferenceGraphAttentionOptions,
): HostResult | ReferenceGraphAttentionOutputs {
  const call = validateGraphAttentionCall(x, graph, options, HOST_CHECKS, hostGraphOf);
  const { N, H, F, E } = call.dims;
  const { edges } = call.graph;
  const { h, src, dst } = nodeTerms(call);
  const slope = call.negativeSlope;
  const perHead = new Float64Array(N * H * F);
  const weights = call.returnWeights ? new Float64Array(E * H) : null;
  for (const [i, list] of incoming(edges).entries()) {
    const [logits, p] = [new Float64Array(list.length), new Float64Array(list.length)];
    for (let head = 0; head < H; head++) {
      list.forEach((e, k) => {
        const s = src[edges.sources[e] * H + head] + dst[i * H + head];
        logits[k] = s >= 0 ? s : slope * s;
      });
      softmaxRow(logits, p);
      list.forEach((e, k) => weights && (weights[e * H + head] = p[k]));
      const rowOf = (k: number) => (edges.sources[list[k]] * H + head) * F;
      accumulateRow(logits, p, rowOf, h, F, perHead, (i * H + head) * F);
    }
  }
  const width = call.concat ? H * F : F;
  const out = new Float64Array(N * width);
  const bias = call.bias && float64(call.bias);
  for (let i = 0; i < N; i++) {
    for (let c = 0; c < width; c++) {
      let value = perHead[i * H * F + c];
      if (!call.concat) {
        value = 0;
        for (let head = 0; head < H; head++) value += perHead[(i * H + head) * F + c];
        value /= H;
      }
      out[i * width + c] = value + (bias ? bias[c] : 0);
    }
  }
  const output = { data: out, shape: [N, width] };
  return weights ? { output, weights: { data: weights, shape: [E, H] } } : output;
}
