/** The bench's results: one row per (L, causal), and the markdown table printed from them. */

/** One implementation's result in a row: a timing, or why there is none. */
export interface Cell {
  ms?: number;
  gflops?: number;
  runs?: number;
  /** The one sample is the checked first run (which also read the output back). */
  checkedRunOnly?: boolean;
  /** Worst error over the checked elements, in units of the f32 tolerance (≤ 1 passes). */
  error?: number;
  /** 'full' (every output element) or 'N rows' (sampled query rows). */
  checked?: string;
  skipped?: string;
}

export interface Row {
  B: number;
  H: number;
  L: number;
  D: number;
  causal: boolean;
  /** FLOPs counted: 4·B·H·D·(unmasked (query, key) pairs). */
  flops: number;
  flash: Cell;
  naive: Cell;
  ort: Cell;
  cpu: Cell;
}

/** (query, key) pairs that take part: all of them, or the causal lower triangle L(L+1)/2. */
export function attendedPairs(lq: number, lk: number, causal: boolean): number {
  if (!causal) return lq * lk;
  let pairs = 0;
  for (let i = 0; i < lq; i++) pairs += Math.min(i + 1, lk);
  return pairs;
}

const fmtMs = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const fmtRate = (g: number) => (g >= 10 ? g.toFixed(1) : g >= 1 ? g.toFixed(2) : g.toFixed(3));

function cellText(c: Cell): [string, string] {
  if (c.ms === undefined) return [c.skipped ? `— (${c.skipped})` : '—', '—'];
  const wrong = c.error !== undefined && !(c.error <= 1) ? ' **WRONG**' : '';
  const runs = c.runs !== undefined ? ` (×${c.runs}${c.checkedRunOnly ? '†' : ''})` : '';
  return [`${fmtMs(c.ms)}${runs}${wrong}`, fmtRate(c.gflops ?? 0)];
}

/** How many times faster `a` is than `b` (b's ms / a's ms), or '—'. */
function speedup(a: Cell, b: Cell): string {
  return a.ms !== undefined && b.ms !== undefined ? `${(b.ms / a.ms).toFixed(2)}×` : '—';
}

function checkText(row: Row): string {
  const parts = (['flash', 'naive', 'ort'] as const)
    .filter((name) => row[name].error !== undefined)
    .map((name) => `${name} ${row[name].error! <= 1 ? 'ok' : 'FAIL'} ${row[name].error!.toFixed(2)}`);
  const scope = row.flash.checked ?? row.naive.checked ?? '';
  return parts.length ? `${parts.join(', ')} (${scope})` : '—';
}

/** The markdown table; `withOrt` adds ORT's columns. */
export function markdownTable(rows: readonly Row[], withOrt: boolean): string {
  const head = [
    'B·H·L·D',
    'causal',
    'GFLOP',
    'flash ms',
    'flash GFLOP/s',
    'naive ms',
    'naive GFLOP/s',
    ...(withOrt ? ['ORT ms', 'ORT GFLOP/s'] : []),
    'CPU ms',
    'CPU GFLOP/s',
    'flash vs naive',
    ...(withOrt ? ['flash vs ORT'] : []),
    'flash vs CPU',
    'check: err/tol',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const cells = [
      `${r.B}·${r.H}·${r.L}·${r.D}`,
      r.causal ? 'yes' : 'no',
      (r.flops / 1e9).toFixed(2),
      ...cellText(r.flash),
      ...cellText(r.naive),
      ...(withOrt ? cellText(r.ort) : []),
      ...cellText(r.cpu),
      speedup(r.flash, r.naive),
      ...(withOrt ? [speedup(r.flash, r.ort)] : []),
      speedup(r.flash, r.cpu),
      checkText(r),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** The notes printed under the table; `checkedRunAfterS`: when one run is the only sample. */
export function tableNotes(checkedRunAfterS: number, withOrt: boolean): string[] {
  return [
    'FLOPs = 4·B·H·Lq·Lk·D for full attention; for causal rows only the unmasked part, 4·B·H·D·L(L+1)/2 (GFLOP column and every GFLOP/s).',
    'GPU ms: wall clock from the call (encode + submit) to queue.onSubmittedWorkDone(), median of the runs shown (×N), after warm-up. CPU ms: reference.sdpa (float64, JS), one run.',
    `×1†: a run took over ${checkedRunAfterS} s, so the checked first run (warm once a smaller L has run; it also reads the output back) is the one sample.`,
    '"flash vs X" = X ms / flash ms: how many times faster the flash kernel is (>1 = flash faster).',
    "No timestamp queries, though the device has them: WebGPU writes timestamps only through a pass's timestampWrites, and attn.sdpa encodes its own passes (src/gpu has no timing hook yet).",
    ...(withOrt
      ? [
          "ORT: a session per causal flag with a symbolic L (programs compile once), inputs and output in GPU buffers on ORT's own device from the same adapter; a run is session.run() → onSubmittedWorkDone().",
        ]
      : []),
    'check: worst |gpu − ref| / (2e-5 + 1e-4·|ref|) against the float64 reference (≤ 1 passes), over every element ("full") or sampled query rows.',
  ];
}
