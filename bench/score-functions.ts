/**
 * The score-functions part of `npm run bench` (--only scores; issue #14): additive (Bahdanau) and
 * multiplicative (Luong "general") attention at B=1, Lq = Lk = L ∈ --score-lengths (default 512;
 * --quick 256), Dq = Dk = Dv = 64, additive's A = 64, not causal, each against the softmax flash
 * kernel (attn.sdpa on [1, 1, L, 64]) at the same shape, in one run. Every timed result is first
 * checked against the float64 reference on every element.
 *
 * Also standalone: `main(args)` takes --score-lengths, --runs and --quick (through Vite's SSR loader,
 * as bench/launch.mjs loads run.ts).
 */
import { createAttention, reference, type AttentionContext, type GpuTensor, type HostTensor } from '../src/index';
import { nodeGpu } from '../test/helpers/node-gpu';
import { randomHost as host } from './check';
import type { Cell } from './report';
import type { RunPolicy } from './timing';
import { showCell, timeCheckedCell } from './cells';

export interface ScoreOptions {
  policy: RunPolicy;
  lengths: number[];
}

const [D, A] = [64, 64];

export interface ScoreRow {
  L: number;
  additive: Cell;
  multiplicative: Cell;
  flash: Cell;
}

async function lengthRow(attn: AttentionContext, policy: RunPolicy, L: number): Promise<ScoreRow> {
  const [q, k, v] = [1, 2, 3].map((seed) => host(seed, [1, L, D]));
  const weights = {
    wq: host(4, [A, D], 1.5 / Math.sqrt(D)),
    wk: host(5, [A, D], 1.5 / Math.sqrt(D)),
    va: host(6, [A]),
    bias: host(7, [A], 0.5),
  };
  const weight = host(8, [D, D], 1 / Math.sqrt(D));
  const gpu = (t: HostTensor & { data: Float32Array }, shape = t.shape) => attn.tensor(t.data, [...shape]);
  const [gq, gk, gv] = [q, k, v].map((t) => gpu(t));
  const [q4, k4, v4] = [q, k, v].map((t) => gpu(t, [1, 1, L, D]));
  const gw = { wq: gpu(weights.wq), wk: gpu(weights.wk), va: gpu(weights.va), bias: gpu(weights.bias) };
  const gweight = gpu(weight);
  try {
    const additive = await timeCheckedCell(
      attn,
      policy,
      () => attn.additive(gq, gk, gv, gw),
      () => reference.additive(q, k, v, weights).data,
    );
    const multiplicative = await timeCheckedCell(
      attn,
      policy,
      () => attn.multiplicative(gq, gk, gv, { weight: gweight, scale: 1 / Math.sqrt(D) }),
      () => reference.multiplicative(q, k, v, { weight, scale: 1 / Math.sqrt(D) }).data,
    );
    const four = (t: HostTensor) => ({ data: t.data, shape: [1, 1, L, D] });
    const flash = await timeCheckedCell(
      attn,
      policy,
      () => attn.sdpa(q4, k4, v4),
      () => reference.sdpa(four(q), four(k), four(v)).data,
    );
    return { L, additive, multiplicative, flash };
  } finally {
    [gq, gk, gv, q4, k4, v4, gweight, ...Object.values(gw)].forEach((t) => t.destroy());
  }
}

/** Runs the score-functions part at every length. */
export async function benchScoreFunctions(
  attn: AttentionContext,
  options: ScoreOptions,
  log: (line: string) => void,
): Promise<ScoreRow[]> {
  const rows: ScoreRow[] = [];
  for (const L of options.lengths) {
    rows.push(await lengthRow(attn, options.policy, L));
    log(`  score functions L=${L} done`);
  }
  return rows;
}

const show = (c: Cell) => showCell(c);
const ratio = (a: Cell, b: Cell) => (a.ms !== undefined && b.ms !== undefined ? `${(a.ms / b.ms).toFixed(2)}×` : '—');
const err = (c: Cell) => (c.error !== undefined ? c.error.toFixed(2) : '—');

/** The markdown table of the score-functions part, with how to read it. */
export function scoreTable(rows: readonly ScoreRow[]): string {
  const lines = [
    `### Score functions, B=1, Lq = Lk = L, Dq = Dk = Dv = ${D}, additive A = ${A}, not causal`,
    '',
    '| op | L | ms | flash ms (same shape) | time ÷ flash | check err/tol (op, flash) |',
    '|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    for (const op of ['additive', 'multiplicative'] as const) {
      const cell = row[op];
      lines.push(
        `| ${op} | ${row.L} | ${show(cell)} | ${show(row.flash)} | ${ratio(cell, row.flash)} | ${err(cell)}, ${err(row.flash)} |`,
      );
    }
  }
  lines.push(
    '',
    '- ms: median wall-clock from submit to onSubmittedWorkDone after a warm-up (runs in brackets).',
    '- additive: two projection GEMMs, then L²·A tanh terms in the tiled kernel; multiplicative: one GEMM (k·Wᵀ), then the flash kernel. flash: attn.sdpa on [1, 1, L, 64].',
    '- err/tol: worst |gpu − ref| / (2e-5 + 1e-4·|ref|) over every element against the float64 reference; ≤ 1 passes.',
  );
  return lines.join('\n');
}

/** Whether a timed result failed its check. */
export function scoreWrong(rows: readonly ScoreRow[]): boolean {
  return rows.some((r) =>
    [r.additive, r.multiplicative, r.flash].some((c) => c.error !== undefined && !(c.error <= 1)),
  );
}

/** Standalone run: `main(['--score-lengths', '256,512'])`; returns 1 when a check failed. */
export async function main(args: readonly string[]): Promise<number> {
  const value = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const quick = args.includes('--quick');
  const runs = Number(value('--runs') ?? (quick ? 3 : 5));
  const options: ScoreOptions = {
    policy: { warmup: 1, runs, minRuns: Math.min(runs, 3), budgetS: quick ? 6 : 20 },
    lengths: (value('--score-lengths') ?? (quick ? '256' : '512')).split(',').map(Number),
  };
  const attn = await createAttention({ gpu: await nodeGpu() });
  const started = performance.now();
  try {
    const log = (line: string) => console.error(`${line} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    const rows = await benchScoreFunctions(attn, options, log);
    console.log(scoreTable(rows));
    return scoreWrong(rows) ? 1 : 0;
  } finally {
    attn.destroy();
  }
}
