/**
 * The float64 twins of graph attention, `reference.graph` and `reference.graphAttention` (PyTorch
 * Geometric's GATConv): a hand-worked graph, the self-loop rule and the edge-index forms, properties
 * (weights sum to 1 per node and head, the mean is the average of the concatenated heads, a head
 * alone is a one-head call, repeated edges count twice, edge order only reorders the weights),
 * PyTorch's vectors (test/data/graph/, GATConv written out in plain torch) and the bad-input errors.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { reference, type HostGraph, type HostResult, type HostTensor } from '../../src/index';
import { expectRejected } from '../helpers/rejections';
import { random } from '../mha-cases';

const t = (data: number[], shape: number[]): HostTensor => ({ data, shape });
const edges = (pairs: [number, number][]) => ({
  data: Int32Array.from([...pairs.map((p) => p[0]), ...pairs.map((p) => p[1])]),
  shape: [2, pairs.length],
});
const close = (got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-12) => {
  expect(got.length).toBe(want.length);
  for (let e = 0; e < want.length; e++) expect(Math.abs(got[e] - want[e]), `element ${e}`).toBeLessThanOrEqual(tol);
};
type Options = Parameters<typeof reference.graphAttention>[2];
const attend = (x: HostTensor, g: HostGraph, o: Options) =>
  reference.graphAttention(x, g, { ...o, returnWeights: true });

describe('a graph worked by hand', () => {
  // 0 → 1, 2 → 1, 1 → 1 (dropped), 0 → 2; then the loops 0 → 0, 1 → 1, 2 → 2.
  const g = reference.graph(
    edges([
      [0, 1],
      [2, 1],
      [1, 1],
      [0, 2],
    ]),
    3,
  );
  const one = t([1], [1, 1]);
  const x = t([-1, 1, 2], [3, 1]); // h = x with W = [[1]]; e(j → i) = LeakyReLU(hⱼ + hᵢ)

  it('drops the self-loop given and appends one per node, after the other edges', () => {
    expect(g.numEdges).toBe(6);
    expect([...g.edgeIndex.data]).toEqual([0, 2, 0, 0, 1, 2, 1, 1, 2, 0, 1, 2]);
    expect(g.edgeIndex.shape).toEqual([2, 6]);
  });

  it('gives each node the softmax over its incoming edges of the LeakyReLU scores', () => {
    const r = attend(x, g, { weight: one, attSrc: one, attDst: one, heads: 1 });
    const e = Math.exp;
    // node 0: its loop only (score −2 → −0.4), α = 1. node 1: scores 0, 3 (2 → 1), 2 (its loop).
    // node 2: scores 1 (0 → 2), 4 (its loop).
    const z1 = 1 + e(3) + e(2);
    const z2 = e(1) + e(4);
    close(r.weights.data, [1 / z1, e(3) / z1, e(1) / z2, 1, e(2) / z1, e(4) / z2]);
    close(r.output.data, [-1, (-1 + 2 * e(3) + e(2)) / z1, (-e(1) + 2 * e(4)) / z2]);
    expect(r.output.shape).toEqual([3, 1]);
    expect(r.weights.shape).toEqual([6, 1]);
  });

  it('uses the negative slope below 0 and adds the bias', () => {
    const r = reference.graphAttention(x, reference.graph(edges([[0, 1]]), 3, { addSelfLoops: false }), {
      weight: t([1], [1, 1]),
      attSrc: t([2], [1, 1]),
      attDst: t([1], [1, 1]),
      heads: 1,
      negativeSlope: 0.5,
      bias: t([10], [1]),
    });
    close(r.data, [10, 10 - 1, 10]); // nodes 0 and 2 have no edge: the bias alone
  });
});

describe('reference.graph', () => {
  const pairs: [number, number][] = [
    [0, 1],
    [3, 3],
    [0, 1],
    [2, 0],
  ];

  it('keeps every edge as given without addSelfLoops, repeats and self-loops included', () => {
    const g = reference.graph(edges(pairs), 5, { addSelfLoops: false });
    expect([...g.edgeIndex.data]).toEqual([0, 3, 0, 2, 1, 3, 1, 0]);
    expect(g.addSelfLoops).toBe(false);
  });

  it('takes Int32Array, Uint32Array, BigInt64Array and number[] alike, and an empty edge list', () => {
    const base = edges(pairs);
    const forms = [Uint32Array.from(base.data), BigInt64Array.from([...base.data].map(BigInt)), [...base.data]];
    for (const data of forms) {
      expect([...reference.graph({ data, shape: [2, 4] }, 5).edgeIndex.data]).toEqual([
        ...reference.graph(base, 5).edgeIndex.data,
      ]);
    }
    expect(reference.graph({ data: new Int32Array(0), shape: [2, 0] }, 3).numEdges).toBe(3);
    expect(reference.graph({ data: [], shape: [2, 0] }, 3, { addSelfLoops: false }).numEdges).toBe(0);
  });
});

describe('properties', () => {
  const N = 11;
  const pairs: [number, number][] = Array.from({ length: 40 }, (_, e) => [(e * 7 + 3) % N, (e * e + 1) % (N - 1)]);
  const x = random('graph props x', [N, 6]);
  const [H, F] = [3, 4];
  const o = {
    weight: random('graph props w', [H * F, 6], 0.6),
    attSrc: random('graph props as', [H, F]),
    attDst: random('graph props ad', [H, F]),
    heads: H,
  };
  const g = reference.graph(edges(pairs), N);

  it('the weights of each node and head sum to 1 (node 10 has only its loop)', () => {
    const r = attend(x, g, o);
    const sums = new Float64Array(N * H);
    const targets = g.edgeIndex.data.subarray(g.numEdges);
    targets.forEach((i, e) => {
      for (let h = 0; h < H; h++) sums[i * H + h] += r.weights.data[e * H + h];
    });
    close(sums, new Float64Array(N * H).fill(1));
  });

  it('without concat, the output is the average of the concatenated heads (bias aside)', () => {
    const cat = reference.graphAttention(x, g, o);
    const mean = reference.graphAttention(x, g, { ...o, concat: false });
    const want = Array.from({ length: N * F }, (_, e) => {
      const [i, f] = [Math.floor(e / F), e % F];
      return [0, 1, 2].reduce((s, h) => s + cat.data[i * H * F + h * F + f], 0) / H;
    });
    close(mean.data, want);
  });

  it('each head is a one-head call on its rows of the weights', () => {
    const cat = reference.graphAttention(x, g, o);
    for (let h = 0; h < H; h++) {
      const rows = (u: HostTensor, width: number) =>
        t(Array.from(u.data as ArrayLike<number>).slice(h * width * F, (h + 1) * width * F), [F, width]);
      const single = reference.graphAttention(x, g, {
        weight: rows(o.weight, 6),
        attSrc: t(Array.from(o.attSrc.data).slice(h * F, (h + 1) * F), [1, F]),
        attDst: t(Array.from(o.attDst.data).slice(h * F, (h + 1) * F), [1, F]),
        heads: 1,
      });
      const want = Array.from({ length: N * F }, (_, e) => cat.data[Math.floor(e / F) * H * F + h * F + (e % F)]);
      close(single.data, want);
    }
  });

  it('a repeated edge counts twice; reordering the edges reorders the weights only', () => {
    const twice = reference.graph(
      edges([
        [1, 0],
        [1, 0],
        [2, 0],
      ]),
      3,
      { addSelfLoops: false },
    );
    const small = { ...o, weight: random('graph w3', [H * F, 6], 0.6) };
    const x3 = random('graph x3', [3, 6]);
    const r = attend(x3, twice, small);
    for (let h = 0; h < H; h++) expect(r.weights.data[h]).toBe(r.weights.data[H + h]);
    const reordered = attend(
      x3,
      reference.graph(
        edges([
          [2, 0],
          [1, 0],
          [1, 0],
        ]),
        3,
        { addSelfLoops: false },
      ),
      small,
    );
    close(reordered.output.data, r.output.data);
    close(reordered.weights.data.subarray(0, H), r.weights.data.subarray(2 * H));
  });

  it('takes PyG’s [1, H, F] attention parameters as they are', () => {
    const pyg = { ...o, attSrc: { ...o.attSrc, shape: [1, H, F] }, attDst: { ...o.attDst, shape: [1, H, F] } };
    close(reference.graphAttention(x, g, pyg).data, reference.graphAttention(x, g, o).data, 0);
  });
});

interface TorchCase {
  name: string;
  numNodes: number;
  addSelfLoops: boolean;
  edgeIndex: { shape: number[]; data: number[] };
  x: HostTensor;
  options: Record<string, HostTensor | number | boolean>;
  output: HostTensor;
  edges: number[];
  weights: HostTensor;
}

describe('PyTorch vectors (test/data/graph/torch-vectors.json: GATConv written out in torch)', () => {
  const file = new URL('../data/graph/torch-vectors.json', import.meta.url);
  const { cases } = JSON.parse(readFileSync(file, 'utf8')) as { cases: TorchCase[] };

  it('holds four cases', () => expect(cases.length).toBe(4));

  for (const c of cases) {
    it(c.name, () => {
      const g = reference.graph({ data: Int32Array.from(c.edgeIndex.data), shape: c.edgeIndex.shape }, c.numNodes, {
        addSelfLoops: c.addSelfLoops,
      });
      expect([...g.edgeIndex.data]).toEqual(c.edges);
      const r = reference.graphAttention(c.x, g, c.options as never) as { output: HostTensor; weights: HostTensor };
      expect(r.output.shape).toEqual(c.output.shape);
      close(r.output.data as Float64Array, c.output.data as number[]);
      close(r.weights.data as Float64Array, c.weights.data as number[]);
    });
  }
});

describe('bad input (the same AttentionError on the GPU: test/node/graph.test.ts)', () => {
  const g = reference.graph(edges([[0, 1]]), 3);
  const x = random('bad x', [3, 4]);
  const o = {
    weight: random('bad w', [6, 4]),
    attSrc: random('bad a', [2, 3]),
    attDst: random('bad b', [2, 3]),
    heads: 2,
  };
  const call = (options: Record<string, unknown>, xx: unknown = x, gg: unknown = g) =>
    reference.graphAttention(xx as HostTensor, gg as HostGraph, { ...o, ...options } as never);

  it('names the edge index, the node count and the options of graph()', () => {
    expectRejected(() => reference.graph({ data: new Int32Array(6), shape: [3, 2] }, 3), 'edgeIndex', '[2, E]');
    expectRejected(() => reference.graph({ data: new Int32Array(6), shape: [6] }, 3), 'edgeIndex', 'shape [6]');
    expectRejected(() => reference.graph(null as never, 3), 'edgeIndex', 'a host tensor');
    expectRejected(
      () => reference.graph({ data: new Int32Array(3), shape: [2, 2] }, 3),
      'edgeIndex.data',
      '4 elements',
    );
    expectRejected(
      () => reference.graph({ data: new Float32Array(4), shape: [2, 2] } as never, 3),
      'edgeIndex.data',
      'Int32Array',
    );
    expectRejected(() => reference.graph(edges([[0, 3]]), 3), 'edgeIndex', 'target 3 at edge 0', '[0, 3)');
    expectRejected(() => reference.graph({ data: [0, 1.5], shape: [2, 1] }, 3), 'edgeIndex', 'target 1.5', 'integer');
    expectRejected(() => reference.graph({ data: [-1, 1], shape: [2, 1] }, 3), 'edgeIndex', 'source -1');
    expectRejected(() => reference.graph(edges([[0, 1]]), 0), 'numNodes', 'a positive integer');
    expectRejected(() => reference.graph(edges([[0, 1]]), 2.5), 'numNodes');
    expectRejected(
      () => reference.graph(edges([[0, 1]]), 3, { selfLoops: true } as never),
      'options.selfLoops',
      'unknown',
    );
    expectRejected(() => reference.graph(edges([[0, 1]]), 3, { addSelfLoops: 1 } as never), 'options.addSelfLoops');
  });

  it('names the graph, x and every option of graphAttention()', () => {
    expectRejected(() => call({}, x, { numNodes: 3, numEdges: 4 }), 'graph', 'reference.graph');
    expectRejected(() => call({}, random('x', [4, 4])), 'x', 'N = 3');
    expectRejected(() => call({}, { data: new Uint8Array(12), shape: [3, 4] }), 'x', 'boolean');
    expectRejected(() => call({ heads: 0 }), 'options.heads', 'a positive integer');
    expectRejected(() => call({ heads: undefined }), 'options.heads');
    expectRejected(() => call({ heads: 4 }), 'options.weight', 'a multiple of heads H = 4');
    expectRejected(() => call({ weight: random('w', [6, 5]) }), 'options.weight', '[H·F, 4]');
    expectRejected(() => call({ weight: undefined }), 'options.weight', 'undefined');
    expectRejected(() => call({ attSrc: random('a', [3, 2]) }), 'options.attSrc', '[2, 3]');
    expectRejected(() => call({ attDst: random('a', [2, 3, 1]) }), 'options.attDst', '[1, 2, 3]');
    expectRejected(() => call({ bias: random('b', [3]) }), 'options.bias', '[H·F] = [6] with concat');
    expectRejected(() => call({ bias: random('b', [6]), concat: false }), 'options.bias', '[F] = [3] without concat');
    expectRejected(() => call({ negativeSlope: Infinity }), 'options.negativeSlope', 'finite');
    expectRejected(() => call({ negativeSlope: NaN }), 'options.negativeSlope');
    expectRejected(() => call({ negativeSlope: 1e39 }), 'options.negativeSlope', 'float32');
    expectRejected(() => call({ concat: 'yes' }), 'options.concat', 'true or false');
    expectRejected(() => call({ att_src: o.attSrc }), 'options.att_src', 'an unknown key');
    const empty = reference.graph({ data: [], shape: [2, 0] }, 3, { addSelfLoops: false });
    expectRejected(() => call({ returnWeights: true }, x, empty), 'options.returnWeights', 'no edge');
    expect((call({}, x, empty) as unknown as HostResult).data.every((v) => v === 0)).toBe(true);
  });
});
