/**
 * The long-inputs part of `npm run bench` (issue #14): attention at less than quadratic cost,
 * B=1, H=8, D=Dv=64, L ∈ --long-lengths (default 1024, 16384):
 *  - linear attention (elu+1), causal and not: its time at each L against the first L (ideal: the
 *    ratio of the lengths, since the cost is O(L·D·Dv)), and the softmax flash kernel (attn.sdpa) at
 *    the same shape and causality;
 *  - Linformer with r = 256 (--long-rank) projected keys, against the flash kernel on the full L.
 * Every timed result is checked against the float64 reference: linear attention on every element,
 * flash and Linformer on sampled query rows. A flash cell whose one run is predicted, from its ms per
 * FLOP at a smaller L, to pass --max-run-s is not run; the prediction is printed, marked as such.
 * `npm run bench -- --only long [--long-lengths 1024,16384] [--long-rank 256]`.
 */
import { reference, type AttentionContext, type GpuTensor } from '../src/index';
import { makeInputs, randomData, referenceRows, sampleRows, worstError, type Inputs } from './check';
import { attendedPairs, type Cell } from './report';
import { timeRuns, type RunPolicy } from './timing';

export interface LongOptions {
  policy: RunPolicy;
  maxRunS: number;
  lengths: number[];
  rank: number;
}

const [H, D] = [8, 64];

/** A timed cell, or a prediction where running it would take too long. */
export interface LongCell extends Cell {
  predictedMs?: number;
}

export interface LongRow {
  L: number;
  causal: boolean;
  linear: LongCell;
  flash: LongCell;
  /** Not causal only. */
  linformer: LongCell | null;
}

interface Timer {
  attn: AttentionContext;
  options: LongOptions;
  msPerFlop: Map<string, number>;
}

const firstLine = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 160);

/** Times `call` (checked on its first run, which also compiles) unless predicted to take too long. */
async function timeCell(
  t: Timer,
  key: string,
  flops: number,
  call: () => GpuTensor,
  check: (got: Float32Array) => number,
): Promise<LongCell> {
  const predictedMs = (t.msPerFlop.get(key) ?? 0) * flops;
  if (predictedMs / 1000 > t.options.maxRunS)
    return { predictedMs, skipped: `predicted ${(predictedMs / 1000).toFixed(0)} s > --max-run-s` };
  try {
    const t0 = performance.now();
    const first = call();
    const got = await first.read();
    const firstMs = performance.now() - t0;
    first.destroy();
    const error = check(got);
    const device = t.attn.device;
    const timing =
      t.msPerFlop.has(key) && firstMs > (t.options.policy.budgetS * 1000) / 2
        ? { medianMs: firstMs, runs: 1 }
        : await timeRuns(async () => {
            call().destroy();
            await device.queue.onSubmittedWorkDone();
          }, t.options.policy);
    t.msPerFlop.set(key, timing.medianMs / flops);
    return { ms: timing.medianMs, gflops: flops / (timing.medianMs * 1e6), runs: timing.runs, error };
  } catch (error) {
    return { skipped: firstLine(error) };
  }
}

/** |got − ref| / (2e-5 + 1e-4·|ref|) over every element (≤ 1 passes). */
function worstOfAll(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let worst = 0;
  for (let e = 0; e < want.length; e++) {
    const ratio = Math.abs(got[e] - want[e]) / (2e-5 + 1e-4 * Math.abs(want[e]));
    worst = Number.isNaN(ratio) ? Infinity : Math.max(worst, ratio);
  }
  return worst;
}

/** reference.linformer on the sampled query rows alone (its rows are independent). */
function linformerRows(inputs: Inputs, E: Float32Array, F: Float32Array, r: number, rows: number[]) {
  const { length: L } = inputs;
  const expected = new Map<number, Float64Array>();
  const shape = [1, H, L, D];
  const k = { data: inputs.k, shape };
  const v = { data: inputs.v, shape };
  const projectK = { data: E, shape: [r, L] };
  const projectV = { data: F, shape: [r, L] };
  const q = new Float32Array(H * rows.length * D);
  rows.forEach((i, n) => {
    for (let h = 0; h < H; h++)
      q.set(inputs.q.subarray((h * L + i) * D, (h * L + i + 1) * D), (h * rows.length + n) * D);
  });
  const out = reference.linformer({ data: q, shape: [1, H, rows.length, D] }, k, v, { projectK, projectV }).data;
  rows.forEach((i, n) => {
    const row = new Float64Array(H * D);
    for (let h = 0; h < H; h++) row.set(out.subarray((h * rows.length + n) * D, (h * rows.length + n + 1) * D), h * D);
    expected.set(i, row);
  });
  return expected;
}

async function lengthRows(t: Timer, L: number): Promise<LongRow[]> {
  const inputs = makeInputs(H, L, D);
  const shape = [1, H, L, D];
  const [q, k, v] = [inputs.q, inputs.k, inputs.v].map((d) => t.attn.tensor(d, shape));
  const r = t.options.rank;
  const scale = 1 / Math.sqrt(L);
  const [E, F] = [4, 5].map((seed) => randomData(r * L, seed).map((x) => x * scale));
  const [projectK, projectV] = [E, F].map((p) => t.attn.tensor(p, [r, L]));
  const rows = sampleRows(L);
  const out: LongRow[] = [];
  try {
    for (const causal of [false, true]) {
      const linearFlops = 2 * 2 * H * L * D * D; // S += φ(k)ᵀv and φ(q)·S, a multiply-add each
      const want = reference.linearAttention(
        { data: inputs.q, shape },
        { data: inputs.k, shape },
        { data: inputs.v, shape },
        { causal },
      );
      const linear = await timeCell(
        t,
        `linear ${causal}`,
        linearFlops,
        () => t.attn.linearAttention(q, k, v, { causal }),
        (got) => worstOfAll(got, want.data),
      );
      const flashFlops = 4 * H * D * attendedPairs(L, L, causal);
      const flashRows = referenceRows(inputs, causal, rows);
      const flash = await timeCell(
        t,
        `flash ${causal}`,
        flashFlops,
        () => t.attn.sdpa(q, k, v, { causal }),
        (got) => worstError(got, flashRows, inputs),
      );
      let linformer: LongCell | null = null;
      if (!causal) {
        const flops = 2 * 2 * H * r * L * D + 4 * H * D * L * r; // the two projections, then attention over r keys
        const expected = linformerRows(inputs, E, F, r, rows);
        linformer = await timeCell(
          t,
          'linformer',
          flops,
          () => t.attn.linformer(q, k, v, { projectK, projectV }) as GpuTensor,
          (got) => worstError(got, expected, inputs),
        );
      }
      out.push({ L, causal, linear, flash, linformer });
    }
  } finally {
    [q, k, v, projectK, projectV].forEach((x) => x.destroy());
  }
  return out;
}

/** Runs the long-inputs part: every length, causal and not. */
export async function benchLong(
  attn: AttentionContext,
  options: LongOptions,
  log: (line: string) => void,
): Promise<LongRow[]> {
  const t: Timer = { attn, options, msPerFlop: new Map() };
  const rows: LongRow[] = [];
  for (const L of options.lengths) {
    rows.push(...(await lengthRows(t, L)));
    log(`  long inputs L=${L} done`);
  }
  return rows;
}

const show = (c: LongCell | null) =>
  !c
    ? '—'
    : c.ms !== undefined
      ? `${c.ms.toFixed(1)} (×${c.runs})${c.error !== undefined && !(c.error <= 1) ? ' **WRONG**' : ''}`
      : c.predictedMs !== undefined
        ? `~${c.predictedMs.toFixed(0)} predicted`
        : `— (${c.skipped ?? 'not run'})`;
const msOf = (c: LongCell | null) => c?.ms ?? c?.predictedMs;
const ratio = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined ? `${(a / b).toFixed(2)}×` : '—';
const err = (c: LongCell | null) => (c?.error !== undefined ? c.error.toFixed(2) : '—');

/** The markdown table of the long-inputs part, with how to read it. */
export function longTable(rows: readonly LongRow[], rank: number): string {
  const lines = [
    `### Attention for long inputs, B=1, H=${H}, D=Dv=${D}: linear attention (elu+1), Linformer (r=${rank}), flash`,
    '',
    '| L | causal | linear ms | linear vs first L (ideal) | flash ms | flash / linear | linformer ms | flash / linformer | check err/tol (linear, flash, linformer) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const base = rows.find((b) => b.causal === row.causal);
    const ideal = base ? (row.L / base.L).toFixed(1) : '—';
    lines.push(
      `| ${row.L} | ${row.causal} | ${show(row.linear)} | ${ratio(row.linear.ms, base?.linear.ms)} (${ideal}) | ${show(row.flash)} | ${ratio(msOf(row.flash), row.linear.ms)} | ${show(row.linformer)} | ${row.linformer ? ratio(msOf(row.flash), row.linformer.ms) : '—'} | ${err(row.linear)}, ${err(row.flash)}, ${err(row.linformer)} |`,
    );
  }
  lines.push(
    '',
    '- ms: median wall-clock from submit to onSubmittedWorkDone after a warm-up (runs in brackets); "predicted": not run, its ms per FLOP at a smaller L times its FLOPs.',
    '- Linear attention costs O(L·D·Dv): its time should grow with L (the ideal column); flash grows with L².',
    '- Linformer: two sequence projections to r rows, then the flash kernel over r keys (not causal); compared with flash over all L keys.',
    '- err/tol: worst |gpu − ref| / (2e-5 + 1e-4·|ref|) against the float64 reference (linear: every element; flash, Linformer: sampled rows); ≤ 1 passes.',
  );
  return lines.join('\n');
}

/** Whether a checked cell of the part failed its check. */
export function longWrong(rows: readonly LongRow[]): boolean {
  return rows.some((r) => [r.linear, r.flash, r.linformer].some((c) => c?.error !== undefined && !(c.error <= 1)));
}
