/**
 * The vision part of `npm run bench` (--only vision; issue #15): attention over feature maps and
 * attention rollout, one row per operation, each checked on every element against the float64
 * reference before it is timed.
 *   channelAttention  squeeze-and-excitation ('avg') on x [4, 256, 28, 28] nchw, r = 16, biases
 *   spatialAttention  CBAM's spatial gate, k = 7, on the same x in nhwc
 *   cbam              both gates (r = 16, k = 7) on x nchw
 *   attentionRollout  ViT-B/16's shape: 12 layers of [1, 12, 197, 197] softmax weights, mean fusion,
 *                     discard 0.9
 * --quick halves the batch of x. GB/s counts the bytes the passes move through x and the output.
 *
 * Also standalone: `main(args)` takes --runs and --quick (through Vite's SSR loader, as
 * bench/launch.mjs loads run.ts).
 */
import { createAttention, reference, type AttentionContext, type GpuTensor, type HostTensor } from '../src/index';
import { nodeGpu } from '../test/helpers/node-gpu';
import { randomData } from './check';
import type { Cell } from './report';
import type { RunPolicy } from './timing';
import { showCell, timeCheckedCell } from './cells';

export interface VisionBenchOptions {
  policy: RunPolicy;
  quick: boolean;
}

export interface VisionRow {
  op: string;
  shape: string;
  /** Bytes of x and the output the passes read and write, for GB/s; 0 where not counted. */
  bytes: number;
  cell: Cell;
}

type Host = HostTensor & { data: Float32Array };

let seed = 100;
const host = (shape: number[], scale = 1): Host => ({
  data: randomData(
    shape.reduce((a, b) => a * b, 1),
    seed++,
  ).map((x) => x * scale),
  shape,
});

/** Softmax rows of random logits: one layer of attention weights. */
function softmaxLayer(shape: number[]): Host {
  const t = host(shape, 3);
  const L = shape[shape.length - 1];
  for (let row = 0; row < t.data.length / L; row++) {
    const cells = t.data.subarray(row * L, (row + 1) * L);
    let sum = 0;
    cells.forEach((v, j) => (sum += cells[j] = Math.exp(v)));
    cells.forEach((v, j) => (cells[j] = v / sum));
  }
  return t;
}

/** Runs the vision part: one row per operation. */
export async function benchVision(
  attn: AttentionContext,
  options: VisionBenchOptions,
  log: (line: string) => void,
): Promise<VisionRow[]> {
  const [N, C, H, W, r, k] = [options.quick ? 2 : 4, 256, 28, 28, 16, 7];
  const S = C / r;
  const x = host([N, C, H, W], 2);
  const nhwc: Host = { data: new Float32Array(x.data.length), shape: [N, H, W, C] };
  for (let e = 0; e < x.data.length; e++) {
    const [n, c, p] = [Math.floor(e / (C * H * W)), Math.floor(e / (H * W)) % C, e % (H * W)];
    nhwc.data[(n * H * W + p) * C + c] = x.data[e];
  }
  const gate = {
    w1: host([S, C], 1 / Math.sqrt(C)),
    b1: host([S], 0.5),
    w2: host([C, S], 1 / Math.sqrt(S)),
    b2: host([C], 0.5),
  };
  const conv = { weight: host([1, 2, k, k], 1 / k), bias: host([1], 0.5) };
  const layers = Array.from({ length: 12 }, () => softmaxLayer([1, 12, 197, 197]));
  const made: GpuTensor[] = [];
  const gpu = (t: Host) => (made.push(attn.tensor(t.data, [...t.shape])), made[made.length - 1]);
  const onGpu = <T extends Record<string, Host>>(o: T) =>
    Object.fromEntries(Object.entries(o).map(([key, t]) => [key, gpu(t)])) as { [K in keyof T]: GpuTensor };
  const [gx, gnhwc, ggate, gconv, glayers] = [gpu(x), gpu(nhwc), onGpu(gate), onGpu(conv), layers.map(gpu)];
  const xBytes = x.data.length * 4;
  const shape = `[${N}, ${C}, ${H}, ${W}]`;
  const rollout = { headFusion: 'mean' as const, discardRatio: 0.9 };
  const rows: VisionRow[] = [];
  try {
    const cell = (call: () => GpuTensor, want: () => ArrayLike<number>) =>
      timeCheckedCell(attn, options.policy, call, want);
    rows.push({
      op: 'channelAttention (SE, avg)',
      shape: `${shape} nchw, r = ${r}`,
      bytes: 3 * xBytes,
      cell: await cell(
        () => attn.channelAttention(gx, { ...ggate, pooling: 'avg' }),
        () => reference.channelAttention(x, { ...gate, pooling: 'avg' }).data,
      ),
    });
    log('  vision channelAttention done');
    rows.push({
      op: 'spatialAttention',
      shape: `${shape} nhwc, k = ${k}`,
      bytes: 3 * xBytes,
      cell: await cell(
        () => attn.spatialAttention(gnhwc, { ...gconv, layout: 'nhwc' }),
        () => reference.spatialAttention(nhwc, { ...conv, layout: 'nhwc' }).data,
      ),
    });
    log('  vision spatialAttention done');
    rows.push({
      op: 'cbam',
      shape: `${shape} nchw, r = ${r}, k = ${k}`,
      bytes: 4 * xBytes,
      cell: await cell(
        () => attn.cbam(gx, { channel: ggate, spatial: gconv }),
        () => reference.cbam(x, { channel: gate, spatial: conv }).data,
      ),
    });
    log('  vision cbam done');
    rows.push({
      op: 'attentionRollout (mean, discard 0.9)',
      shape: '12 layers of [1, 12, 197, 197]',
      bytes: 0,
      cell: await cell(
        () => attn.attentionRollout(glayers, rollout),
        () => reference.attentionRollout(layers, rollout).data,
      ),
    });
    log('  vision attentionRollout done');
  } finally {
    made.forEach((t) => t.destroy());
  }
  return rows;
}

const show = (c: Cell) => showCell(c);

/** The markdown table of the vision part, with how to read it. */
export function visionTable(rows: readonly VisionRow[]): string {
  const lines = [
    '### Attention over feature maps and attention rollout',
    '',
    '| op | shape | ms | GB/s (x and output) | check err/tol |',
    '|---|---|---|---|---|',
  ];
  for (const { op, shape, bytes, cell } of rows) {
    const gbps = bytes > 0 && cell.ms !== undefined ? (bytes / cell.ms / 1e6).toPrecision(3) : '—';
    lines.push(`| ${op} | ${shape} | ${show(cell)} | ${gbps} | ${cell.error?.toFixed(2) ?? '—'} |`);
  }
  lines.push(
    '',
    '- ms: median wall-clock from submit to onSubmittedWorkDone after a warm-up (runs in brackets), one submission per call.',
    '- GB/s: the passes over x (pooling per gate, the rescale) and the output write, 4 bytes each, over the time; the small pooled maps, gates and weights are not counted.',
    '- err/tol: worst |gpu − ref| / (2e-5 + 1e-4·|ref|) over every element against the float64 reference; ≤ 1 passes.',
  );
  return lines.join('\n');
}

/** Whether a timed result failed its check. */
export function visionWrong(rows: readonly VisionRow[]): boolean {
  return rows.some((r) => r.cell.error !== undefined && !(r.cell.error <= 1));
}

/** Standalone run: `main(['--quick'])`; returns 1 when a check failed. */
export async function main(args: readonly string[]): Promise<number> {
  const value = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const quick = args.includes('--quick');
  const runs = Number(value('--runs') ?? (quick ? 3 : 5));
  const policy = { warmup: 1, runs, minRuns: Math.min(runs, 3), budgetS: quick ? 6 : 20 };
  const attn = await createAttention({ gpu: await nodeGpu() });
  const started = performance.now();
  try {
    const log = (line: string) => console.error(`${line} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    const rows = await benchVision(attn, { policy, quick }, log);
    console.log(visionTable(rows));
    return visionWrong(rows) ? 1 : 0;
  } finally {
    attn.destroy();
  }
}
