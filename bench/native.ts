/**
 * The native ceiling: PyTorch's `scaled_dot_product_attention` timed by bench/torch-sdpa.py on the
 * shapes this run timed (run.sh runs it first, where `import torch` works with CUDA, and passes its
 * JSON with `--native-ceiling FILE`; where it cannot, `--native-ceiling-note WHY`).
 */
import { readFileSync } from 'node:fs';
import type { TimedFigure } from './figures';
import { ofPeak, type DevicePeak } from './peak';

/** One shape at one dtype, as torch-sdpa.py writes it. */
export interface NativeRow {
  key: string;
  part: string;
  shape: string;
  dtype: 'f32' | 'f16';
  /** FLOPs over the attended pairs, and the bytes of K and V at this dtype. */
  flops: number;
  kvBytes: number;
  /** Median GPU time between CUDA events (absent on the CPU), and median wall clock call → synchronize. */
  eventsMs?: number | null;
  wallMs?: number | null;
  runs?: number;
  /** Grouped-query shapes: 'enable_gqa', or 'expanded' (K/V repeated to Hq heads before the timing). */
  variant?: string | null;
  error?: string;
}

export interface NativeResults {
  torch: string;
  device: string;
  deviceType: string;
  /** What was timed: 'scaled_dot_product_attention', or the fallback where this torch lacks it. */
  impl: string;
  notes: string[];
  rows: NativeRow[];
}

export type Native = { results: NativeResults; line: string } | { results: null; line: string };

/** Reads the file run.sh passes, or takes its note; the line goes to the top of the report. */
export function loadNative(file: string | undefined, note: string | undefined): Native {
  if (!file)
    return {
      results: null,
      line: `Native ceiling (PyTorch): not measured${note ? `: ${note}` : ' (run.sh measures it)'}`,
    };
  try {
    const results = JSON.parse(readFileSync(file, 'utf8')) as NativeResults;
    const line = `Native ceiling: PyTorch ${results.torch} on ${results.device}, ${results.impl}: table at the end`;
    return { results, line };
  } catch (error) {
    return { results: null, line: `Native ceiling (PyTorch): not measured: cannot read ${file}: ${String(error)}` };
  }
}

const fmtMs = (ms: number) =>
  ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3);
const fmtRate = (g: number) =>
  g >= 100 ? g.toFixed(0) : g >= 10 ? g.toFixed(1) : g >= 1 ? g.toFixed(2) : g.toFixed(3);
const isDecode = (row: NativeRow) => row.part.startsWith('decode');

/** GPU time where there is one, else wall clock. */
const bestMs = (row: NativeRow | undefined) => row?.eventsMs ?? row?.wallMs ?? undefined;

function rate(row: NativeRow | undefined): { value?: number; unit: string } {
  const ms = bestMs(row);
  if (!row || ms === undefined) return { unit: '' };
  return isDecode(row)
    ? { value: row.kvBytes / (ms * 1e6), unit: 'GB/s' }
    : { value: row.flops / (ms * 1e6), unit: 'GFLOP/s' };
}

function torchCell(row: NativeRow | undefined): string {
  if (!row) return '—';
  if (row.error) return `— (${row.error.slice(0, 80)})`;
  const ms = bestMs(row);
  if (ms === undefined) return '—';
  const r = rate(row);
  const wall = row.eventsMs != null && row.wallMs != null ? ` (wall ${fmtMs(row.wallMs)})` : '';
  const expanded = row.variant === 'expanded' ? ', K/V expanded' : '';
  return `${fmtMs(ms)}${wall} · ${fmtRate(r.value!)} ${r.unit}${expanded}`;
}

/** The table: each shape torch timed, next to the flash kernel's figure from this run. */
export function nativeTable(n: NativeResults, flash: readonly TimedFigure[], peak: DevicePeak): string {
  const keys = [...new Set(n.rows.map((r) => r.key))];
  const head = [
    'part',
    'shape',
    'flash ms (this run)',
    'torch f32 ms · rate',
    'torch f32 fraction of peak',
    'torch f16 ms · rate',
    'flash ms ÷ torch f32 wall ms',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const key of keys) {
    const f32 = n.rows.find((r) => r.key === key && r.dtype === 'f32');
    const f16 = n.rows.find((r) => r.key === key && r.dtype === 'f16');
    const any = f32 ?? f16!;
    const mine = flash.find((f) => f.key === key);
    const r = rate(f32?.error ? undefined : f32);
    const fraction = ofPeak(r.value, r.unit === 'GB/s' ? peak.gbps : peak.gflops);
    const wall = f32?.wallMs ?? undefined;
    const cells = [
      any.part,
      any.shape,
      mine ? fmtMs(mine.ms) : '— (not timed in this run)',
      torchCell(f32),
      fraction || '—',
      torchCell(f16),
      mine && wall !== undefined && !f32?.error ? `${(mine.ms / wall).toFixed(2)}×` : '—',
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return [
    `### Native ceiling: PyTorch ${n.torch}, ${n.impl}, on ${n.device}`,
    '',
    ...lines,
    '',
    '- torch ms: median GPU time between CUDA events around one call, after warm-up (on the CPU: wall clock); "wall": median wall clock from the call to torch.cuda.synchronize(), the way the WebGPU bench measures. Rates use the GPU time: GFLOP/s over the attended pairs (as the tables above), GB/s of K and V at that dtype for decode.',
    '- f32 runs with TF32 off (torch.backends.cuda.matmul.allow_tf32 = False), so it is an f32 ceiling; f16 may use tensor cores, which WebGPU cannot reach. "flash ÷ torch" above 1: torch is that many times faster.',
    ...n.notes.map((note) => `- ${note}`),
  ].join('\n');
}
