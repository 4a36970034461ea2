/**
 * The local-attention part of `npm run bench` (issue #4):
 *  - sliding window w = 256 keys (`window: { left: 128, right: 127 }`) at L ∈ {1024, 4096, 16384},
 *    B=1, H=8, D=64: how the time grows with L (ideal: linearly), and full attention at the same L;
 *  - 2-D neighbourhood 7×7 on 64×64 and 128×128 maps, H=4, D=32, against the flash kernel on the
 *    same tokens with the equivalent boolean mask (what one would run without a local kernel).
 * Every timed result is checked against the float64 reference (sampled rows for the 1-D runs,
 * every element for the 2-D runs). A cell whose one run is predicted, from the measured ms per
 * FLOP of the same kernel at a smaller size, to take longer than --max-run-s is not run: its
 * predicted time is printed instead, marked as such.
 */
import { reference, type AttentionContext, type GpuTensor } from '../src/index';
import { axisWindow } from '../src/contract/neighborhood';
import { makeInputs, randomData, referenceRows, sampleRows, worstError, type ExpectedRows } from './check';
import type { Cell } from './report';
import { timeRuns, type RunPolicy } from './timing';

export interface LocalOptions {
  policy: RunPolicy;
  maxRunS: number;
  windowLengths: number[];
  mapSizes: number[];
}

const WINDOW = { left: 128, right: 127 };
const [WH, WD] = [8, 64];
const [NH, ND, KERNEL] = [4, 32, 7];

/** A timed cell, or a prediction where running it would take too long. */
export interface LocalCell extends Cell {
  predictedMs?: number;
}

interface Timer {
  attn: AttentionContext;
  options: LocalOptions;
  msPerFlop: Map<string, number>;
}

/** Times `call` (checked on its first run) unless the prediction says it would take too long. */
async function timeCell(
  t: Timer,
  key: string,
  flops: number,
  call: () => GpuTensor,
  check: (got: Float32Array) => number,
): Promise<LocalCell> {
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
    // A long first run of a kernel that compiled at a smaller size is the one sample (as in run.ts).
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
    return { skipped: (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 160) };
  }
}

/** (query, key) pairs a sliding window admits on a sequence of L. */
function windowPairs(L: number): number {
  let pairs = 0;
  for (let i = 0; i < L; i++) pairs += Math.min(L - 1, i + WINDOW.right) - Math.max(0, i - WINDOW.left) + 1;
  return pairs;
}

export interface WindowRow {
  L: number;
  window: LocalCell;
  full: LocalCell;
  windowFlops: number;
  fullFlops: number;
}

async function windowRow(t: Timer, L: number): Promise<WindowRow> {
  const inputs = makeInputs(WH, L, WD);
  const shape = [1, WH, L, WD];
  const [q, k, v] = [inputs.q, inputs.k, inputs.v].map((d) => t.attn.tensor(d, shape));
  const rows = sampleRows(L);
  const banded: ExpectedRows = referenceRows(inputs, false, rows, (i) => [
    Math.max(0, i - WINDOW.left),
    Math.min(L, i + WINDOW.right + 1),
  ]);
  const full: ExpectedRows = referenceRows(inputs, false, rows);
  const windowFlops = 4 * WH * WD * windowPairs(L);
  const fullFlops = 4 * WH * WD * L * L;
  try {
    return {
      L,
      windowFlops,
      fullFlops,
      window: await timeCell(
        t,
        'window',
        windowFlops,
        () => t.attn.sdpa(q, k, v, { window: WINDOW }),
        (got) => worstError(got, banded, inputs),
      ),
      full: await timeCell(
        t,
        'full',
        fullFlops,
        () => t.attn.sdpa(q, k, v),
        (got) => worstError(got, full, inputs),
      ),
    };
  } finally {
    [q, k, v].forEach((x) => x.destroy());
  }
}

/** The boolean mask [T, T] (T = side²) that allows exactly the 7×7 NATTEN neighbourhood. */
function neighbourhoodMask(side: number): Uint8Array {
  const T = side * side;
  const mask = new Uint8Array(T * T);
  const windows = Array.from({ length: side }, (_, i) => axisWindow(i, side, KERNEL, 1, false));
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      const row = (y * side + x) * T;
      for (const ky of windows[y]) for (const kx of windows[x]) mask[row + ky * side + kx] = 1;
    }
  return mask;
}

export interface MapRow {
  side: number;
  tokens: number;
  local: LocalCell;
  masked: LocalCell;
  flops: number;
  maskedFlops: number;
}

async function mapRow(t: Timer, side: number): Promise<MapRow> {
  const T = side * side;
  const shape = [1, NH, side, side, ND];
  const [qd, kd, vd] = [1, 2, 3].map((seed) => randomData(NH * T * ND, seed));
  const expected = reference.neighborhood2d(
    { data: qd, shape },
    { data: kd, shape },
    { data: vd, shape },
    { kernel: KERNEL },
  ).data;
  const check = (got: Float32Array) => {
    let worst = 0;
    for (let e = 0; e < expected.length; e++)
      worst = Math.max(worst, Math.abs(got[e] - expected[e]) / (2e-5 + 1e-4 * Math.abs(expected[e])));
    return Number.isNaN(worst) ? Infinity : worst;
  };
  const [q, k, v] = [qd, kd, vd].map((d) => t.attn.tensor(d, shape));
  // [1, H, Y, X, D] is [1, H, T, D] in memory: the flash kernel reads the same buffers.
  const flat = [qd, kd, vd].map((d) => t.attn.tensor(d, [1, NH, T, ND]));
  const flops = 4 * NH * ND * T * KERNEL * KERNEL;
  const maskedFlops = 4 * NH * ND * T * T;
  try {
    const local = await timeCell(
      t,
      'neighborhood2d',
      flops,
      () => t.attn.neighborhood2d(q, k, v, { kernel: KERNEL }),
      check,
    );
    const predicted = ((t.msPerFlop.get('masked') ?? 0) * maskedFlops) / 1000;
    let masked: LocalCell;
    if (predicted > t.options.maxRunS) {
      masked = { predictedMs: predicted * 1000, skipped: `predicted ${predicted.toFixed(0)} s > --max-run-s` };
    } else {
      const mask = t.attn.mask(neighbourhoodMask(side), [T, T]);
      try {
        masked = await timeCell(
          t,
          'masked',
          maskedFlops,
          () => t.attn.sdpa(flat[0], flat[1], flat[2], { mask }),
          check,
        );
      } finally {
        mask.destroy();
      }
    }
    return { side, tokens: T, local, masked, flops, maskedFlops };
  } catch (error) {
    const skipped = (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 160);
    return { side, tokens: T, local: { skipped }, masked: { skipped }, flops, maskedFlops };
  } finally {
    [q, k, v, ...flat].forEach((x) => x.destroy());
  }
}

/** Runs both local benchmarks. */
export async function benchLocal(
  attn: AttentionContext,
  options: LocalOptions,
  log: (line: string) => void,
): Promise<{ window: WindowRow[]; maps: MapRow[] }> {
  const t: Timer = { attn, options, msPerFlop: new Map() };
  const window: WindowRow[] = [];
  for (const L of options.windowLengths) {
    window.push(await windowRow(t, L));
    log(`  window L=${L} done`);
  }
  const maps: MapRow[] = [];
  for (const side of options.mapSizes) {
    maps.push(await mapRow(t, side));
    log(`  neighbourhood ${side}×${side} done`);
  }
  return { window, maps };
}

const ms = (c: LocalCell) =>
  c.ms !== undefined
    ? `${c.ms.toFixed(0)} (×${c.runs})${c.error !== undefined && !(c.error <= 1) ? ' **WRONG**' : ''}`
    : c.predictedMs !== undefined
      ? `~${c.predictedMs.toFixed(0)} predicted`
      : `— (${c.skipped ?? 'not run'})`;
const msOf = (c: LocalCell) => c.ms ?? c.predictedMs;
const ratio = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined ? `${(a / b).toFixed(2)}×` : '—';
const err = (c: LocalCell) => (c.error !== undefined ? c.error.toFixed(2) : '—');

/** Markdown tables of the local benchmarks, with the notes that say how to read them. */
export function localTables(r: { window: WindowRow[]; maps: MapRow[] }): string {
  const base = r.window[0];
  const w = [
    '| L | window ms | window GFLOP/s | time vs L=' +
      (base?.L ?? '—') +
      ' (ideal) | full ms | full / window | check err/tol (window, full) |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const row of r.window) {
    const ideal = base ? `${(row.windowFlops / base.windowFlops).toFixed(1)}` : '—';
    w.push(
      `| ${row.L} | ${ms(row.window)} | ${row.window.gflops?.toFixed(2) ?? '—'} | ${ratio(row.window.ms, base?.window.ms)} (${ideal}) | ${ms(row.full)} | ${ratio(msOf(row.full), row.window.ms)} | ${err(row.window)}, ${err(row.full)} |`,
    );
  }
  const m = [
    '| map | tokens | neighborhood2d ms | GFLOP/s | flash + mask ms | flash+mask / neighborhood2d | check err/tol (local, masked) |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const row of r.maps) {
    m.push(
      `| ${row.side}×${row.side} | ${row.tokens} | ${ms(row.local)} | ${row.local.gflops?.toFixed(2) ?? '—'} | ${ms(row.masked)} | ${ratio(msOf(row.masked), row.local.ms)} | ${err(row.local)}, ${err(row.masked)} |`,
    );
  }
  return [
    `### Sliding window w = 256 (left 128, right 127), B=1, H=${WH}, D=${WD}`,
    '',
    ...w,
    '',
    `### 2-D neighbourhood ${KERNEL}×${KERNEL}, B=1, H=${NH}, D=${ND}, vs flash with the equivalent boolean mask [T, T]`,
    '',
    ...m,
    '',
    '- Window FLOPs count only the (query, key) pairs in the band; the ideal time ratio is that FLOP ratio (≈ L / L₀).',
    '- ms: median wall clock (call → onSubmittedWorkDone) of ×N runs after warm-up; ×1: a long first run (its pipelines compiled at a smaller size) is the only sample.',
    '- "~N predicted": not run; the kernel\'s measured ms per FLOP at the smaller size times this size\'s FLOPs.',
    '- check: worst |gpu − ref| / (2e-5 + 1e-4·|ref|) against the float64 reference (sampled rows for windows, every element for maps).',
  ].join('\n');
}
