/**
 * Node GPU ring for graph attention: `attn.graph` (the CSR kept on the device) and
 * `attn.graphAttention` (the GEMM, shaders/graph.wgsl's scores and per-node aggregation) against the
 * float64 reference: N = 77, Fin = 24, H = 3, F = 5, isolated nodes, repeated edges, self-loops given,
 * a node of 3000 incoming edges, concat and mean, more heads than invocations, more columns than
 * invocations, a graph with no edge, NaN in one node; graph reuse and lifecycle; every bad input an
 * AttentionError with nothing taken, compiled or submitted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lib from '../../src/index';
import { createAttention, reference, type AttentionContext, type GpuTensor, type HostTensor } from '../../src/index';
import { compareArrays } from '../helpers/compare';
import { GRAPH_CASES, graphEdgeIndex, graphInputs, runGraphCase, type GraphCase } from '../helpers/graph-runners';
import { nodeGpu } from '../helpers/node-gpu';
import { expectRejectedOn } from '../helpers/rejections';
import { random } from '../mha-cases';

let attn: AttentionContext;
let submits = 0;
beforeAll(async () => {
  attn = await createAttention({ gpu: await nodeGpu() });
  attn.runtime.onSubmit = () => submits++;
});
afterAll(() => attn?.destroy());

const upload = (t: HostTensor) => attn.tensor(Float32Array.from(t.data as ArrayLike<number>), [...t.shape]);

/** Cases beyond the shared table (which the browser and wgpu rings run too). */
const NODE_CASES: GraphCase[] = [
  {
    name: 'graph N=77 Fin=24 H=70 F=2 (a node’s heads across workgroups), mean, bias',
    ...{ N: 77, Fin: 24, H: 70, F: 2, edges: 250 },
    concat: false,
    bias: true,
    returnWeights: true,
  },
  {
    name: 'graph N=77 Fin=24 H=2 F=40 (a node’s 80 columns across workgroups), slope −0.3, node 5 of 700 edges, no loops added',
    ...{ N: 77, Fin: 24, H: 2, F: 40, edges: 150, hub: 700 },
    addSelfLoops: false,
    negativeSlope: -0.3,
    bias: true,
    returnWeights: true,
  },
  {
    name: 'graph N=77 Fin=24 H=1 F=5, output only',
    ...{ N: 77, Fin: 24, H: 1, F: 5, edges: 300 },
  },
];

describe('against the float64 reference', () => {
  for (const c of [...GRAPH_CASES, ...NODE_CASES]) {
    it(c.name, async () => {
      const before = attn.stats.liveBuffers;
      const r = await runGraphCase(lib, attn as never, c);
      expect(r.ok, r.message).toBe(true);
      expect(attn.stats.liveBuffers, 'every output and graph destroyed, every scratch buffer back').toBe(before);
    });
  }
});

describe('graphs', () => {
  const c = GRAPH_CASES[0];
  const { x, options } = graphInputs(c);
  const gpuOptions = () => ({
    weight: upload(options.weight as HostTensor),
    attSrc: upload(options.attSrc as HostTensor),
    attDst: upload(options.attDst as HostTensor),
    heads: c.H,
  });

  it('one graph serves several calls; edgeIndex gives the edges in the weights’ order', async () => {
    const edgeIndex = graphEdgeIndex(c);
    const graph = attn.graph(edgeIndex, c.N);
    const host = reference.graph(edgeIndex, c.N);
    expect(graph.numEdges).toBe(host.numEdges);
    expect([...graph.edgeIndex.data]).toEqual([...host.edgeIndex.data]);
    const o = gpuOptions();
    for (const seed of ['first', 'second']) {
      const xs = random(`reuse ${seed}`, [c.N, c.Fin]);
      const xt = upload(xs);
      const r = attn.graphAttention(xt, graph, { ...o, returnWeights: true });
      const want = reference.graphAttention(xs, host, { ...options, bias: undefined, returnWeights: true } as never);
      const got = await r.weights.read();
      expect(compareArrays(got, want.weights.data).ok).toBe(true);
      expect(compareArrays(await r.output.read(), want.output.data).ok).toBe(true);
      [xt, r.output, r.weights].forEach((t) => t.destroy());
    }
    Object.values(o).forEach((t) => (t as GpuTensor).destroy?.());
    graph.destroy();
  });

  it('a graph with no edge gives every node the bias', async () => {
    const before = attn.stats.liveBuffers;
    const graph = attn.graph({ data: new Int32Array(0), shape: [2, 0] }, 4, { addSelfLoops: false });
    const [xt, weight, att, bias] = [
      upload(random('empty x', [4, 3])),
      upload(random('empty w', [2, 3])),
      upload(random('empty a', [1, 2])),
      upload({ data: [7, -8], shape: [2] }),
    ];
    const out = attn.graphAttention(xt, graph, { weight, attSrc: att, attDst: att, bias, heads: 1 });
    expect([...(await out.read())]).toEqual([7, -8, 7, -8, 7, -8, 7, -8]);
    [xt, weight, att, bias, out, graph].forEach((t) => t.destroy());
    expect(attn.stats.liveBuffers).toBe(before);
  });

  it('NaN in one node’s features reaches the nodes it points to, as in the reference', async () => {
    const edgeIndex = graphEdgeIndex(c);
    const poisoned = { ...x, data: Float32Array.from(x.data as Float32Array).fill(NaN, 3 * c.Fin, 4 * c.Fin) };
    const graph = attn.graph(edgeIndex, c.N);
    const o = gpuOptions();
    const xt = upload(poisoned);
    const r = attn.graphAttention(xt, graph, { ...o, returnWeights: true });
    const host = reference.graph(edgeIndex, c.N);
    const want = reference.graphAttention(poisoned, host, {
      ...options,
      bias: undefined,
      returnWeights: true,
    } as never);
    const [output, weights] = [await r.output.read(), await r.weights.read()];
    expect(want.output.data.some(Number.isNaN) && want.output.data.some(Number.isFinite)).toBe(true);
    expect(compareArrays(output, want.output.data).message).toMatch(/max error/);
    expect(compareArrays(output, want.output.data).ok).toBe(true);
    expect(compareArrays(weights, want.weights.data).ok).toBe(true);
    [xt, r.output, r.weights, graph, ...Object.values(o)].forEach((t) => (t as GpuTensor).destroy?.());
  });

  it('a logit of −∞ removes its edge: weight 0, and the source’s h (−∞) is not read', async () => {
    // Node 3's features are [−∞, 0, 0, 0]; weight column 0 and both attention vectors are positive,
    // so node 3's h and terms are −∞: every edge into or out of it has the logit −∞.
    const [N, Fin, H, F] = [9, 4, 2, 3];
    const edgeIndex = graphEdgeIndex({ ...c, name: 'removed edges', N, edges: 40 });
    const xs = random('removed x', [N, Fin]);
    xs.data.fill(0, 3 * Fin, 4 * Fin)[3 * Fin] = -Infinity;
    const weight = random('removed w', [H * F, Fin]);
    for (let r = 0; r < H * F; r++) weight.data[r * Fin] = 0.5 + Math.abs(weight.data[r * Fin]);
    const positive = (seed: string) => ({ ...random(seed, [H, F]), data: random(seed, [H, F]).data.map(Math.abs) });
    const o = { weight, attSrc: positive('removed as'), attDst: positive('removed ad'), heads: H };
    const host = reference.graph(edgeIndex, N);
    const want = reference.graphAttention(xs, host, { ...o, returnWeights: true });
    const graph = attn.graph(edgeIndex, N);
    const gpu = { weight: upload(o.weight), attSrc: upload(o.attSrc), attDst: upload(o.attDst), heads: H };
    const xt = upload(xs);
    const r = attn.graphAttention(xt, graph, { ...gpu, returnWeights: true });
    const [output, weights] = [await r.output.read(), await r.weights.read()];
    expect(output.every(Number.isFinite)).toBe(true);
    expect([...output.subarray(3 * H * F, 4 * H * F)]).toEqual(new Array(H * F).fill(0));
    const sources = host.edgeIndex.data;
    const touching = [...Array(host.numEdges).keys()].filter(
      (e) => sources[e] === 3 || sources[host.numEdges + e] === 3,
    );
    expect(touching.length).toBeGreaterThan(1);
    for (const e of touching) expect([weights[e * H], weights[e * H + 1]]).toEqual([0, 0]);
    expect(compareArrays(output, want.output.data).ok).toBe(true);
    expect(compareArrays(weights, want.weights.data).ok).toBe(true);
    [xt, r.output, r.weights, graph, gpu.weight, gpu.attSrc, gpu.attDst].forEach((t) => t.destroy());
  });

  it('destroy() gives the graph’s buffers back and is idempotent', () => {
    const before = attn.stats.liveBuffers;
    const graph = attn.graph(graphEdgeIndex(c), c.N);
    expect(attn.stats.liveBuffers).toBe(before + 3);
    graph.destroy();
    graph.destroy();
    expect(graph.destroyed).toBe(true);
    expect(attn.stats.liveBuffers).toBe(before);
  });
});

describe('bad input: an AttentionError, nothing taken, compiled or submitted', () => {
  const N = 5;
  const edges = { data: Int32Array.of(0, 1, 2, 1, 2, 3), shape: [2, 3] };
  let graph: lib.GpuGraph;
  let t: Record<string, GpuTensor>;
  beforeAll(() => {
    graph = attn.graph(edges, N);
    t = {
      x: upload(random('bad x', [N, 4])),
      weight: upload(random('bad w', [6, 4])),
      att: upload(random('bad a', [2, 3])),
      att3: upload(random('bad a3', [3, 2])),
      bias: upload(random('bad b', [4])),
      x6: upload(random('bad x6', [6, 4])),
    };
  });
  afterAll(() => {
    graph.destroy();
    Object.values(t).forEach((x) => x.destroy());
  });

  const call = (options: Record<string, unknown>, x: unknown = t.x, g: unknown = graph) =>
    attn.graphAttention(
      x as GpuTensor,
      g as lib.GpuGraph,
      {
        weight: t.weight,
        attSrc: t.att,
        attDst: t.att,
        heads: 2,
        ...options,
      } as never,
    );

  function rejected(run: () => unknown, argument: string, ...fragments: string[]) {
    const before = submits;
    expectRejectedOn(attn, run, argument, ...fragments);
    expect(submits, 'nothing submitted').toBe(before);
  }

  it('attn.graph names the edge index, numNodes and its options', () => {
    rejected(() => attn.graph({ data: new Int32Array(6), shape: [3, 2] }, N), 'edgeIndex', '[2, E]');
    rejected(() => attn.graph({ data: Int32Array.of(0, 9), shape: [2, 1] }, N), 'edgeIndex', 'target 9', '[0, 5)');
    rejected(() => attn.graph({ data: [0.5, 1], shape: [2, 1] }, N), 'edgeIndex', 'source 0.5', 'integer');
    rejected(() => attn.graph({ data: new Float64Array(2), shape: [2, 1] } as never, N), 'edgeIndex.data');
    rejected(() => attn.graph(edges, 0), 'numNodes', 'a positive integer');
    rejected(() => attn.graph(edges, N, { addSelfLoops: 'yes' } as never), 'options.addSelfLoops');
  });

  it('attn.graphAttention names the graph, x and each option', () => {
    rejected(() => call({}, t.x, edges), 'graph', 'attn.graph');
    rejected(() => call({}, t.x, reference.graph(edges, N)), 'graph', 'attn.graph');
    rejected(() => call({}, t.x6), 'x', 'N = 5');
    rejected(() => call({}, { data: new Float32Array(20), shape: [N, 4] }), 'x', 'GpuTensor');
    rejected(() => call({ heads: 4 }), 'options.weight', 'multiple of heads H = 4');
    rejected(() => call({ heads: 1.5 }), 'options.heads', 'a positive integer');
    rejected(() => call({ attSrc: t.att3 }), 'options.attSrc', '[2, 3]');
    rejected(() => call({ bias: t.bias }), 'options.bias', '[6] with concat');
    rejected(() => call({ negativeSlope: -Infinity }), 'options.negativeSlope', 'finite');
    rejected(() => call({ dropout: 0.1 }), 'options.dropout', 'an unknown key');
  });

  it('refuses a destroyed graph and a graph of another context', async () => {
    const gone = attn.graph(edges, N);
    gone.destroy();
    rejected(() => call({}, t.x, gone), 'graph', 'a destroyed graph');
    const other = await createAttention({ gpu: await nodeGpu() });
    try {
      const foreign = other.graph(edges, N);
      rejected(() => call({}, t.x, foreign), 'graph', `a graph of context #${other.runtime.id}`);
    } finally {
      other.destroy();
    }
  });
});
