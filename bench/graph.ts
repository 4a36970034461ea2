/**
 * The graph part of `npm run bench` (--only graph; issue #15): graph attention (attn.graphAttention,
 * PyTorch Geometric's GATConv) on a random graph of --graph-edges edges (default 100,000; --quick
 * 20,000) among E/10 nodes, self-loops added, Fin = 64, H = 8 heads of F = 8, concat, bias; with and
 * without returnWeights. Reports ms and edges per second (E' = the edges attention runs over, self-
 * loops included), and the one-off cost of attn.graph (host CSR build and upload). Every timed result
 * is first checked against the float64 reference on every element.
 */
import { reference, type AttentionContext, type GpuTensor } from '../src/index';
import { randomData, randomHost as host } from './check';
import type { Cell } from './report';
import { showCell, worstOfAll } from './cells';
import { timeRuns, type RunPolicy } from './timing';

export interface GraphBenchOptions {
  policy: RunPolicy;
  edges: number;
}

export interface GraphRow {
  N: number;
  E: number;
  /** Edges attention runs over: E without the random self-loops, plus one loop per node. */
  edges: number;
  graphMs: number;
  /** x·Wᵀ alone (attn.linear at the same shape): the GEMM inside each call. */
  gemm: Cell;
  output: Cell;
  weights: Cell;
}

const [Fin, H, F] = [64, 8, 8];

/** E random edges among N nodes: sources uniform, targets skewed (a few nodes of high degree). */
function randomEdges(N: number, E: number): { data: Int32Array; shape: number[] } {
  const [u, v] = [randomData(E, 21), randomData(E, 22)];
  const data = new Int32Array(2 * E);
  for (let e = 0; e < E; e++) {
    data[e] = Math.min(N - 1, Math.floor(((u[e] + 1) / 2) * N));
    data[E + e] = Math.min(N - 1, Math.floor(((v[e] + 1) / 2) ** 2 * N));
  }
  return { data, shape: [2, E] };
}

/** Runs the graph part once at --graph-edges. */
export async function benchGraph(
  attn: AttentionContext,
  options: GraphBenchOptions,
  log: (line: string) => void,
): Promise<GraphRow[]> {
  const E = options.edges;
  const N = Math.max(1, Math.round(E / 10));
  const edgeIndex = randomEdges(N, E);
  const x = host(23, [N, Fin]);
  const weights = {
    weight: host(24, [H * F, Fin], 1.5 / Math.sqrt(Fin)),
    attSrc: host(25, [H, F]),
    attDst: host(26, [H, F]),
    bias: host(27, [H * F], 0.5),
  };
  const t0 = performance.now();
  const graph = attn.graph(edgeIndex, N);
  const graphMs = performance.now() - t0;
  const gpu = Object.fromEntries(Object.entries(weights).map(([k, t]) => [k, attn.tensor(t.data, t.shape)]));
  const gx = attn.tensor(x.data, x.shape);
  const options0 = { ...gpu, heads: H } as { weight: GpuTensor; attSrc: GpuTensor; attDst: GpuTensor; heads: number };
  try {
    const want = reference.graphAttention(x, reference.graph(edgeIndex, N), {
      ...weights,
      heads: H,
      returnWeights: true,
    });
    const time = async (returnWeights: boolean): Promise<Cell> => {
      const run = () => attn.graphAttention(gx, graph, { ...options0, returnWeights });
      const first = run();
      const outputs = 'output' in first ? [first.output, first.weights] : [first];
      const error = Math.max(
        worstOfAll(await outputs[0].read(), want.output.data),
        outputs[1] ? worstOfAll(await outputs[1].read(), want.weights.data) : 0,
      );
      outputs.forEach((t) => t.destroy());
      const timing = await timeRuns(async () => {
        const r = run();
        ('output' in r ? [r.output, r.weights] : [r]).forEach((t) => t.destroy());
        await attn.device.queue.onSubmittedWorkDone();
      }, options.policy);
      return { ms: timing.medianMs, runs: timing.runs, error, checked: 'full' };
    };
    const gemmTiming = await timeRuns(async () => {
      attn.linear(gx, gpu.weight).destroy();
      await attn.device.queue.onSubmittedWorkDone();
    }, options.policy);
    const gemm = { ms: gemmTiming.medianMs, runs: gemmTiming.runs };
    const row = { N, E, edges: graph.numEdges, graphMs, gemm, output: await time(false), weights: await time(true) };
    log(`  graph attention E=${E} done`);
    return [row];
  } finally {
    [gx, ...Object.values(gpu)].forEach((t) => t.destroy());
    graph.destroy();
  }
}

/** Edges per second, in thousands or millions. */
const rate = (edges: number, c: Cell) => {
  if (c.ms === undefined) return '—';
  const perSecond = (edges / c.ms) * 1000;
  return perSecond >= 1e6 ? `${(perSecond / 1e6).toFixed(2)} M` : `${(perSecond / 1e3).toFixed(1)} k`;
};
const show = (c: Cell) => showCell(c, 2);

/** The markdown table of the graph part, with how to read it. */
export function graphTable(rows: readonly GraphRow[]): string {
  const lines = [
    `### Graph attention (GATConv), Fin = ${Fin}, H = ${H} heads of F = ${F}, concat, bias, self-loops added`,
    '',
    "| N | E given | E' (with loops) | returnWeights | ms | edges/s | check err/tol | of which x·Wᵀ ms | attn.graph ms |",
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    for (const [flag, c] of [
      ['no', r.output],
      ['yes', r.weights],
    ] as const) {
      const err = c.error !== undefined ? c.error.toFixed(2) : '—';
      lines.push(
        `| ${r.N} | ${r.E} | ${r.edges} | ${flag} | ${show(c)} | ${rate(r.edges, c)} | ${err} | ${show(r.gemm)} | ${r.graphMs.toFixed(1)} |`,
      );
    }
  }
  lines.push(
    '',
    "- ms: median wall-clock from submit to onSubmittedWorkDone after a warm-up (runs in brackets): the GEMM x·Wᵀ, the node scores, the softmax per node and head, the weighted sums. edges/s = E' ÷ time.",
    '- of which x·Wᵀ: the projection GEMM alone (attn.linear on x and the weight [H·F, Fin]), timed the same way.',
    '- attn.graph ms: the one-off host CSR build (counting sort) and upload, reused by every call.',
    '- err/tol: worst |gpu − ref| / (2e-5 + 1e-4·|ref|) over every output element (and weight) against the float64 reference; ≤ 1 passes.',
  );
  return lines.join('\n');
}

/** Whether a timed result failed its check. */
export function graphWrong(rows: readonly GraphRow[]): boolean {
  return rows.some((r) => [r.output, r.weights].some((c) => c.error !== undefined && !(c.error <= 1)));
}
