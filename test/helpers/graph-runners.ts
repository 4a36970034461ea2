/**
 * Graph-attention cases for every ring (engine-neutral, like case-runners.ts): graphs deterministic
 * from the case name with isolated nodes, repeated edges, self-loops given and a node of high
 * degree; `attn.graph` + `attn.graphAttention` against `reference.graph` + `reference.graphAttention`,
 * output and weights, with the f32 tolerance of docs/semantics.md §10. Names hold no comma, so the
 * browser page's `?cases=` can pick them.
 */
import { reference } from '../../src/index';
import type { EdgeIndex } from '../../src/contract/graph';
import type { HostTensor } from '../../src/contract/types';
import { compare, guarded, summarise, type Attention, type Comparison, type Lib, type Runnable } from './case-runners';
import { rng } from '../cases';
import { random } from '../mha-cases';

export interface GraphCase {
  name: string;
  N: number;
  Fin: number;
  H: number;
  F: number;
  /** Random edges before the hub's; every 9th is repeated and every 13th is a self-loop j → j. */
  edges: number;
  /** Extra edges into node 5 (a node of high degree). */
  hub?: number;
  /** Nodes i ≡ 0 (mod 11) get no incoming edge (isolated without addSelfLoops). */
  addSelfLoops?: boolean;
  concat?: boolean;
  bias?: boolean;
  negativeSlope?: number;
  returnWeights?: boolean;
}

/** The case's edge index [2, E], deterministic from its name. */
export function graphEdgeIndex(c: GraphCase): EdgeIndex & { data: Int32Array } {
  const next = rng(`${c.name} edges`);
  const node = () => Math.floor(next() * c.N);
  const pairs: [number, number][] = [];
  for (let e = 0; e < c.edges; e++) {
    let target = node();
    if (target % 11 === 0) target = (target + 1) % c.N;
    const source = e % 13 === 12 ? target : node();
    pairs.push([source, target]);
    if (e % 9 === 0) pairs.push([source, target]);
  }
  for (let e = 0; e < (c.hub ?? 0); e++) pairs.push([node(), 5]);
  const data = Int32Array.from([...pairs.map((p) => p[0]), ...pairs.map((p) => p[1])]);
  return { data, shape: [2, pairs.length] };
}

/** The host inputs of a case: x [N, Fin] and the options with host tensors. */
export function graphInputs(c: GraphCase): { x: HostTensor; options: Record<string, unknown> } {
  const r = (what: string, shape: number[], scale = 1) => random(`${c.name} ${what}`, shape, scale);
  const width = c.concat === false ? c.F : c.H * c.F;
  return {
    x: r('x', [c.N, c.Fin]),
    options: {
      weight: r('weight', [c.H * c.F, c.Fin], 1.5 / Math.sqrt(c.Fin)),
      attSrc: r('attSrc', [c.H, c.F]),
      attDst: r('attDst', [c.H, c.F]),
      bias: c.bias ? r('bias', [width], 0.5) : undefined,
      heads: c.H,
      concat: c.concat,
      negativeSlope: c.negativeSlope,
      returnWeights: c.returnWeights,
    },
  };
}

export const GRAPH_CASES: GraphCase[] = [
  {
    name: 'graph N=77 Fin=24 H=3 F=5 concat · bias · weights · isolated nodes · repeated edges · self-loops given and added',
    ...{ N: 77, Fin: 24, H: 3, F: 5, edges: 300 },
    bias: true,
    returnWeights: true,
  },
  {
    name: 'graph N=77 Fin=24 H=3 F=5 mean over heads · slope 0.1 · no loops added (isolated nodes get the bias)',
    ...{ N: 77, Fin: 24, H: 3, F: 5, edges: 300 },
    addSelfLoops: false,
    concat: false,
    bias: true,
    negativeSlope: 0.1,
    returnWeights: true,
  },
  {
    name: 'graph N=77 Fin=24 H=3 F=5 · node 5 of 3000 incoming edges · weights',
    ...{ N: 77, Fin: 24, H: 3, F: 5, edges: 200, hub: 3000 },
    returnWeights: true,
  },
];

/** Runs one case on `attn` and compares with the reference. */
export function runGraphCase(lib: Lib, attn: Attention, c: GraphCase): ReturnType<typeof guarded> {
  return guarded(lib, c.name, async (own) => {
    const edgeIndex = graphEdgeIndex(c);
    const { x, options } = graphInputs(c);
    const put = (t: HostTensor) => own(attn.tensor(Float32Array.from(t.data as ArrayLike<number>), [...t.shape]));
    const gpuOptions = Object.fromEntries(
      Object.entries(options).map(([key, v]) => [key, v && typeof v === 'object' ? put(v as HostTensor) : v]),
    );
    const graph = own(attn.graph(edgeIndex, c.N, { addSelfLoops: c.addSelfLoops }));
    const got = attn.graphAttention(put(x), graph, gpuOptions as never) as unknown;
    const result = got && typeof got === 'object' && 'output' in got ? got : { output: got };
    const { output, weights } = result as { output: ReturnType<Attention['tensor']>; weights?: typeof output };
    [output, weights].forEach((t) => t && own(t));
    const hostGraph = reference.graph(edgeIndex, c.N, { addSelfLoops: c.addSelfLoops });
    const want = reference.graphAttention(x, hostGraph, { ...options, returnWeights: true } as never);
    const comparisons: Comparison[] = [compare('output', await output.read(), want.output.data)];
    if (c.returnWeights) {
      if (!weights) comparisons.push({ maxErr: Infinity, failure: 'weights: not returned' });
      else comparisons.push(compare('weights', await weights.read(), want.weights.data));
    }
    return summarise(c.name, comparisons, undefined);
  });
}

/** The graph-attention cases, names as in GRAPH_CASES. */
export const graphRunnables = (): Runnable[] =>
  GRAPH_CASES.map((c) => ({ name: c.name, run: (lib, attn) => runGraphCase(lib, attn, c) }));
