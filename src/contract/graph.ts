/**
 * The contract of graph attention (docs/semantics.md §19): PyTorch Geometric's `edge_index` and its
 * self-loop rule, and the options of a `GATConv` forward. Shared by `attn.graph` /
 * `attn.graphAttention` and their reference twins, so both reject the same calls with the same
 * messages; each path supplies only its {@link TensorChecks} and how it recognises its graphs. Pure.
 */
import { AttentionError, describe } from '../errors';
import { checkFlag, checkInt, checkObject, F32_MAX } from './checks';
import { checkFloat, type Shaped } from './multi-head-config';
import type { TensorChecks } from './multi-head-options';

/** The integers of an `edge_index`: Int32Array or Uint32Array (BigInt64Array, as torch's int64, and number[] too). */
export type EdgeIndexData = Int32Array | Uint32Array | BigInt64Array | readonly number[];

/** PyTorch Geometric's `edge_index` on the host: shape [2, E], row 0 the sources, row 1 the targets. */
export interface EdgeIndex {
  readonly data: EdgeIndexData;
  readonly shape: readonly number[];
}

/** Options of `attn.graph` and `reference.graph`. */
export interface GraphOptions {
  /** As GATConv's default: drop the self-loops given, then append one per node after the other edges. Default true. */
  addSelfLoops?: boolean;
}

/** A graph's edges as the attention sees them (E' of them): the given order, self-loops last when added. */
export interface GraphEdges {
  numNodes: number;
  sources: Int32Array;
  targets: Int32Array;
  addSelfLoops: boolean;
}

/** Options of `graphAttention` (PyG's `GATConv`): `T` the weight tensors. */
export interface GraphAttentionOptionsOf<T> {
  /** [H·F, Fin]: `lin.weight`, h = x·Wᵀ, heads side by side. */
  weight: T;
  /** [H, F] (or PyG's [1, H, F]): the source half of the attention vector. */
  attSrc: T;
  /** [H, F] (or [1, H, F]): the target half. */
  attDst: T;
  /** [H·F] with concat, [F] without. Default none. */
  bias?: T;
  /** H ≥ 1. */
  heads: number;
  /** Concatenate the heads ([N, H·F]) or average them ([N, F]). Default true. */
  concat?: boolean;
  /** LeakyReLU's slope below 0. Default 0.2. Finite, a float32. */
  negativeSlope?: number;
  /** Also return α per edge and head [E', H], in the graph's edge order. */
  returnWeights?: boolean;
}

/** What `graphAttention` returns with `returnWeights: true`. */
export interface GraphAttentionOutputsOf<T> {
  /** [N, H·F] (concat) or [N, F]. */
  output: T;
  /** [E', H]: row e is the edge e of `graph.edgeIndex`. */
  weights: T;
}

/** Sizes of a call: N nodes, Fin input features, H heads of F features, E edges (self-loops included). */
export interface GraphDims {
  N: number;
  Fin: number;
  H: number;
  F: number;
  E: number;
}

/** What a graph must tell the contract: its size. */
export interface GraphSize {
  readonly numNodes: number;
  readonly numEdges: number;
}

export interface ValidatedGraphAttention<T, G> {
  dims: GraphDims;
  x: T;
  graph: G;
  weight: T;
  attSrc: T;
  attDst: T;
  bias: T | null;
  concat: boolean;
  negativeSlope: number;
  returnWeights: boolean;
}

const OPTION_KEYS = ['weight', 'attSrc', 'attDst', 'bias', 'heads', 'concat', 'negativeSlope', 'returnWeights'];
const INDEX_LIMIT = 2 ** 31 - 1;

/** The [2, E] shape and the data of an edge index, or an AttentionError on `edgeIndex`. */
function checkEdgeIndex(value: unknown): { data: ArrayLike<number | bigint>; E: number } {
  const ok = typeof value === 'object' && value !== null && 'data' in value && 'shape' in value;
  if (!ok) throw new AttentionError('edgeIndex', describe(value), 'a host tensor { data, shape } of shape [2, E]');
  const { data, shape } = value as EdgeIndex;
  const E = Array.isArray(shape) && shape.length === 2 && shape[0] === 2 ? shape[1] : -1;
  if (!(Number.isInteger(E) && E >= 0 && E <= INDEX_LIMIT)) {
    throw new AttentionError('edgeIndex', `shape ${describe(shape)}`, '[2, E]: row 0 the sources, row 1 the targets');
  }
  const integers = [Int32Array, Uint32Array, BigInt64Array].some((type) => data instanceof type) || Array.isArray(data);
  if (!integers) {
    throw new AttentionError(
      'edgeIndex.data',
      describe(data),
      'an Int32Array or Uint32Array (or BigInt64Array, number[])',
    );
  }
  if (data.length !== 2 * E) {
    throw new AttentionError('edgeIndex.data', `${data.length} elements`, `${2 * E} elements for shape [2, ${E}]`);
  }
  return { data: data as ArrayLike<number | bigint>, E };
}

/** Element `at` of the edge index as a node index in [0, N), or an AttentionError naming the edge. */
function nodeAt(data: ArrayLike<number | bigint>, at: number, E: number, N: number): number {
  const raw = data[at];
  const n = typeof raw === 'bigint' ? Number(raw) : raw;
  if (!(Number.isInteger(n) && n >= 0 && n < N)) {
    const end = at < E ? 'source' : 'target';
    throw new AttentionError(
      'edgeIndex',
      `${end} ${describe(raw)} at edge ${at % E}`,
      `an integer node index in [0, ${N})`,
    );
  }
  return n;
}

/**
 * Checks an edge index and numNodes and applies PyG's self-loop rule: with `addSelfLoops` (default)
 * the self-loops given are dropped (`remove_self_loops`) and the loops 0 → 0 … N−1 → N−1 appended
 * after the other edges (`add_self_loops`); without it every edge is kept as given. Repeated edges
 * stay separate edges.
 * @example
 * graphEdges({ data: new Int32Array([0, 1, 1, 1, 2, 1]), shape: [2, 3] }, 3).sources;
 * // Int32Array [0, 1, 0, 1, 2]: 1 → 1 dropped, loops of nodes 0, 1, 2 appended
 */
export function graphEdges(edgeIndex: unknown, numNodes: unknown, options?: unknown): GraphEdges {
  const { data, E } = checkEdgeIndex(edgeIndex);
  const N = checkInt('numNodes', numNodes, 1);
  if (N > INDEX_LIMIT) throw new AttentionError('numNodes', describe(N), `at most ${INDEX_LIMIT} nodes`);
  const o = checkObject('options', options, ['addSelfLoops'], true);
  const addSelfLoops = checkFlag('options.addSelfLoops', o.addSelfLoops, true);
  const sources: number[] = [];
  const targets: number[] = [];
  for (let e = 0; e < E; e++) {
    const [s, t] = [nodeAt(data, e, E, N), nodeAt(data, E + e, E, N)];
    if (addSelfLoops && s === t) continue;
    sources.push(s);
    targets.push(t);
  }
  if (addSelfLoops) {
    for (let n = 0; n < N; n++) sources.push(n);
    for (let n = 0; n < N; n++) targets.push(n);
  }
  return { numNodes: N, sources: Int32Array.from(sources), targets: Int32Array.from(targets), addSelfLoops };
}

/** attSrc / attDst: [H, F], or PyG's parameter shape [1, H, F] as it is. */
function checkAttention<T extends Shaped>(
  checks: TensorChecks<T>,
  argument: string,
  value: unknown,
  H: number,
  F: number,
) {
  const what = `[H, F] = [${H}, ${F}] (or [1, ${H}, ${F}]), H from options.heads, F = options.weight's rows / H`;
  const given = value !== undefined && value !== null && (value as Shaped).shape;
  const shape = Array.isArray(given) && given.length === 3 ? [1, H, F] : [H, F];
  return checkFloat(checks, argument, value, shape, what);
}

/** weight [H·F, Fin]: its rows give F, and must split into the H heads. */
function checkWeight<T extends Shaped>(checks: TensorChecks<T>, value: unknown, H: number, Fin: number): T {
  const expected = `a float tensor [H·F, ${Fin}] (Fin from x, rows a multiple of heads H = ${H})`;
  if (value === undefined) throw new AttentionError('options.weight', 'undefined', expected);
  const t = checks.tensor('options.weight', value);
  if (checks.isBool(t)) throw new AttentionError('options.weight', 'a boolean tensor', expected);
  const s = t.shape;
  const ok = Array.isArray(s) && s.length === 2 && s[1] === Fin && Number.isInteger(s[0]) && s[0] > 0;
  if (!ok || s[0] % H !== 0) throw new AttentionError('options.weight', `shape ${describe(s)}`, expected);
  checks.contents('options.weight', t);
  return t;
}

/** negativeSlope: finite, within float32 (a uniform holds it); 0.2 when absent. */
function checkSlope(value: unknown): number {
  if (value === undefined) return 0.2;
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > F32_MAX) {
    throw new AttentionError(
      'options.negativeSlope',
      describe(value),
      `a finite number that float32 holds (|slope| ≤ ${F32_MAX})`,
    );
  }
  return value;
}

/**
 * Checks a graph-attention call: the graph (as `graphOf` recognises it), x [N, Fin] with N the
 * graph's nodes, heads H, weight [H·F, Fin], attSrc and attDst [H, F], bias [H·F] (concat) or [F],
 * negativeSlope, concat and returnWeights; unknown option names are refused.
 * @example
 * validateGraphAttentionCall(x, graph, { weight, attSrc, attDst, heads: 3 }, checks, graphOf).dims;
 * // { N, Fin, H: 3, F, E }
 */
export function validateGraphAttentionCall<T extends Shaped, G extends GraphSize>(
  x: unknown,
  graph: unknown,
  options: unknown,
  checks: TensorChecks<T>,
  graphOf: (argument: string, value: unknown) => G,
): ValidatedGraphAttention<T, G> {
  const g = graphOf('graph', graph);
  const xt = checks.tensor('x', x);
  const N = g.numNodes;
  const s = xt.shape;
  if (checks.isBool(xt)) throw new AttentionError('x', 'a boolean tensor', `a float tensor [${N}, Fin]`);
  if (!Array.isArray(s) || s.length !== 2 || s[0] !== N || !(Number.isInteger(s[1]) && s[1] > 0)) {
    throw new AttentionError('x', `shape ${describe(s)}`, `[N, Fin] with N = ${N}, the graph's numNodes`);
  }
  checks.contents('x', xt);
  const o = checkObject('options', options, OPTION_KEYS, false);
  const H = checkInt('options.heads', o.heads, 1);
  const weight = checkWeight(checks, o.weight, H, s[1]);
  const F = weight.shape[0] / H;
  const attSrc = checkAttention(checks, 'options.attSrc', o.attSrc, H, F);
  const attDst = checkAttention(checks, 'options.attDst', o.attDst, H, F);
  const concat = checkFlag('options.concat', o.concat, true);
  const width = concat ? H * F : F;
  const biasWhat = concat ? `[H·F] = [${width}] with concat` : `[F] = [${F}] without concat`;
  const bias = o.bias === undefined ? null : checkFloat(checks, 'options.bias', o.bias, [width], biasWhat);
  const negativeSlope = checkSlope(o.negativeSlope);
  const returnWeights = checkFlag('options.returnWeights', o.returnWeights);
  if (returnWeights && g.numEdges === 0) {
    throw new AttentionError(
      'options.returnWeights',
      'true on a graph with no edge',
      'false: there is no weight to return',
    );
  }
  const dims = { N, Fin: s[1], H, F, E: g.numEdges };
  return { dims, x: xt, graph: g, weight, attSrc, attDst, bias, concat, negativeSlope, returnWeights };
}
