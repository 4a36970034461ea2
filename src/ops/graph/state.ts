/**
 * What a graph keeps on the device, reachable from the public object: the graph's own methods and
 * `attn.graphAttention` share it.
 */
import type { GraphEdges } from '../../contract/graph';
import type { GpuRuntime } from '../../gpu/runtime';

export interface GraphState {
  runtime: GpuRuntime;
  /** The edges after the self-loop rule, on the host (for `edgeIndex`). */
  edges: GraphEdges;
  numNodes: number;
  numEdges: number;
  /** The CSR arrays (ops/graph/plan.ts buildCsr) as u32 buffers of the context's pool. */
  rowPtr: GPUBuffer;
  sources: GPUBuffer;
  edgeIds: GPUBuffer;
  destroyed: boolean;
}

const states = new WeakMap<object, GraphState>();

/** Links a public graph object to its state. */
export function registerGraph(owner: object, state: GraphState): void {
  states.set(owner, state);
}

/** The state of a graph made by attn.graph(), or null for anything else. */
export function graphStateOf(value: unknown): GraphState | null {
  return (typeof value === 'object' && value !== null && states.get(value)) || null;
}
