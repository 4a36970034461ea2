/**
 * Plans of the graph family: the CSR grouping a graph is kept in on the device, and the dispatches
 * of a graph-attention call (the projection GEMM, shaders/graph.wgsl's scores pass and its
 * aggregation). Pure: from the edges, the sizes and the device's limits, so it is unit-tested
 * without a GPU.
 */
import type { GraphDims } from '../../contract/graph';
import { checkFits, foldGrid, type DeviceLimits } from '../../gpu/limits';
import { planMatmul, type MatmulPlan } from '../linear/plan';

/** A graph grouped by target node (compressed sparse rows over the targets). */
export interface Csr {
  /** [N + 1]: the edges into node i are CSR slots rowPtr[i] … rowPtr[i + 1] − 1. */
  rowPtr: Uint32Array;
  /** [E]: the source node of each slot. */
  sources: Uint32Array;
  /** [E]: the edge id (position in the graph's edge list) of each slot. */
  edgeIds: Uint32Array;
}

/**
 * Groups edges by target with a stable counting sort: within a target, the slots keep the edges'
 * order. O(N + E).
 * @example
 * buildCsr(Int32Array.of(0, 2, 0), Int32Array.of(1, 0, 1), 3);
 * // rowPtr [0, 1, 3, 3], sources [2, 0, 0], edgeIds [1, 0, 2]
 */
export function buildCsr(sources: ArrayLike<number>, targets: ArrayLike<number>, numNodes: number): Csr {
  const E = targets.length;
  const rowPtr = new Uint32Array(numNodes + 1);
  for (let e = 0; e < E; e++) rowPtr[targets[e] + 1]++;
  for (let n = 0; n < numNodes; n++) rowPtr[n + 1] += rowPtr[n];
  const next = rowPtr.slice(0, numNodes);
  const csrSources = new Uint32Array(E);
  const edgeIds = new Uint32Array(E);
  for (let e = 0; e < E; e++) {
    const slot = next[targets[e]]++;
    csrSources[slot] = sources[e];
    edgeIds[slot] = e;
  }
  return { rowPtr, sources: csrSources, edgeIds };
}

/** Invocations of each workgroup of the three passes. */
export const GRAPH_WORKGROUP_SIZE = 64;

export interface GraphAttentionPlan {
  /** h = x·Wᵀ [N, H·F] into scratch. */
  project: MatmulPlan;
  /** graph_scores and graph_softmax: one invocation per (node, head). */
  perHead: [number, number, number];
  /** graph_aggregate: one invocation per (node, output column). */
  perColumn: [number, number, number];
  workgroupSize: number;
  /** Columns of the output: H·F with concat, F without. */
  outWidth: number;
}

/** A flat count of invocations as a folded grid of workgroups. */
function grid(invocations: number, limits: DeviceLimits, argument: string, what: string): [number, number, number] {
  const groups = Math.ceil(invocations / GRAPH_WORKGROUP_SIZE);
  return foldGrid(groups, limits, argument, `${groups} workgroups (${what} / ${GRAPH_WORKGROUP_SIZE})`);
}

/**
 * Plans a graph-attention call: the GEMM and the grids of the three passes (folded past the
 * per-dimension limit), after checking every scratch and output buffer can be bound. No workgroup
 * memory is used, so any H and F run. Throws an AttentionError when the call cannot run on this device.
 * @example
 * planGraphAttention({ N: 77, Fin: 24, H: 3, F: 5, E: 300 }, device.limits, true, false).perColumn; // [19, 1, 1]
 */
export function planGraphAttention(
  dims: GraphDims,
  limits: DeviceLimits,
  concat: boolean,
  returnWeights: boolean,
): GraphAttentionPlan {
  const { N, H, F, E } = dims;
  const outWidth = concat ? H * F : F;
  checkFits(limits, 'x', N * H * F, N * H * F * 4); // the projection h
  checkFits(limits, 'x', 2 * N * H, 2 * N * H * 4); // the node scores
  checkFits(limits, 'graph', E * H, E * H * 4); // α per slot and head
  checkFits(limits, 'output', N * outWidth, N * outWidth * 4);
  if (returnWeights) checkFits(limits, 'options.returnWeights', E * H, E * H * 4);
  return {
    project: planMatmul({ M: N, N: H * F, K: dims.Fin }, limits, 'x'),
    perHead: grid(N * H, limits, 'x', 'N·H'),
    perColumn: grid(N * outWidth, limits, 'x', concat ? 'N·H·F' : 'N·F'),
    workgroupSize: GRAPH_WORKGROUP_SIZE,
    outWidth,
  };
}
