/**
 * `attn.graph`: a graph kept on the device for graph attention, PyTorch Geometric's `edge_index`
 * after its self-loop rule, grouped by target node (CSR: row offsets per target, the source of each
 * slot and the edge id of each slot). The grouping is a counting sort on the host at creation
 * (plan.ts buildCsr), uploaded once and reused by every `attn.graphAttention` call on the graph.
 */
import type { GraphOptions } from '../../contract/graph';
import type { GpuRuntime } from '../../gpu/runtime';
import { buildCsr } from './plan';
import { registerGraph, type GraphState } from './state';
import { validateGraph } from './validate';

/** A u32 array in a buffer of the context's pool (at least one word: a graph may have no edge). */
function upload(runtime: GpuRuntime, data: Uint32Array, label: string): GPUBuffer {
  const buffer = runtime.pool.acquire(Math.max(4, data.byteLength), label);
  if (data.byteLength > 0) runtime.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return buffer;
}

/**
 * A graph on the device.
 * @example
 * const edgeIndex = { data: new Int32Array([0, 1, 2, 1, 2, 0]), shape: [2, 3] }; // 0 → 1, 1 → 2, 2 → 0
 * const graph = attn.graph(edgeIndex, 3);          // + the self-loops 0 → 0, 1 → 1, 2 → 2
 * const y = attn.graphAttention(x, graph, { weight, attSrc, attDst, heads: 2 });
 * graph.destroy();
 */
export class GpuGraph {
  readonly #state: GraphState;

  /** @internal Use `attn.graph(edgeIndex, numNodes, options)`. */
  constructor(runtime: GpuRuntime, edgeIndex: unknown, numNodes: unknown, options?: GraphOptions) {
    const edges = validateGraph(runtime, edgeIndex, numNodes, options);
    const { numNodes: N } = edges;
    const E = edges.sources.length;
    const csr = buildCsr(edges.sources, edges.targets, N);
    this.#state = {
      runtime,
      edges,
      numNodes: N,
      numEdges: E,
      rowPtr: upload(runtime, csr.rowPtr, `graph row offsets [${N + 1}]`),
      sources: upload(runtime, csr.sources, `graph sources by target [${E}]`),
      edgeIds: upload(runtime, csr.edgeIds, `graph edge ids by target [${E}]`),
      destroyed: false,
    };
    registerGraph(this, this.#state);
  }

  get numNodes(): number {
    return this.#state.numNodes;
  }
  /** E': the edges attention runs over, self-loops included. */
  get numEdges(): number {
    return this.#state.numEdges;
  }
  get addSelfLoops(): boolean {
    return this.#state.edges.addSelfLoops;
  }
  get destroyed(): boolean {
    return this.#state.destroyed;
  }

  /** [2, E'] (a copy): the edges in the order of `returnWeights`' rows, as PyG's returned edge_index. */
  get edgeIndex(): { data: Int32Array; shape: number[] } {
    const { sources, targets } = this.#state.edges;
    const data = new Int32Array(2 * sources.length);
    data.set(sources);
    data.set(targets, sources.length);
    return { data, shape: [2, sources.length] };
  }

  /** Returns the graph's buffers to the context's pool. Idempotent. */
  destroy(): void {
    const s = this.#state;
    if (s.destroyed) return;
    s.destroyed = true;
    for (const buffer of [s.rowPtr, s.sources, s.edgeIds]) s.runtime.release(buffer);
  }
}
