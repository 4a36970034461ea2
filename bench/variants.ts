/**
 * The variants part of `npm run bench` (--only variants; issue #14): sigmoid attention, top-k (hard,
 * 8, 32) and block-sparse attention at B=1, H=4, Lq = Lk = L ∈ --variant-lengths (default 1024;
 * --quick 512), D = 64, not causal, each against the softmax flash kernel at the same shape in one
 * run. Block-sparse runs 64 × 64 blocks with the diagonal and a seeded random share of the other
 * blocks on (100 %, 50 %, 25 %, 12.5 %): its time should follow the share. Every timed result is
 * first checked against the float64 reference on every element.
 *
 * Also standalone: `main(args)` takes --variant-lengths, --runs and --quick.
 */
import { createAttention, reference, type AttentionContext, type GpuTensor, type SdpaOptions } from '../src/index';
import { nodeGpu } from '../test/helpers/node-gpu';
import { randomData } from './check';
import type { Cell } from './report';
import type { RunPolicy } from './timing';
import { showCell, timeCheckedCell } from './cells';

export interface VariantOptions {
  policy: RunPolicy;
  lengths: number[];
}

const [H, D, BLOCK] = [4, 64, 64];
const SHARES = [1, 0.5, 0.25, 0.125];

export interface VariantRow {
  L: number;
  /** The cell of each variant, by label; 'softmax' is the baseline. */
  cells: [string, Cell, number?][];
}

/** A block mask of L/64 blocks a side: the diagonal, and `share` of the rest (seeded). */
function blocksOn(L: number, share: number): { mask: { data: Uint8Array; shape: number[] }; blockSize: number[] } {
  const n = Math.ceil(L / BLOCK);
  const coin = randomData(n * n, 99);
  const data = Uint8Array.from({ length: n * n }, (_, e) => +(e % (n + 1) === 0 || (coin[e] + 1) / 2 < share));
  return { mask: { data, shape: [1, 1, n, n] }, blockSize: [BLOCK, BLOCK] };
}

async function lengthRow(attn: AttentionContext, policy: RunPolicy, L: number): Promise<VariantRow> {
  const host = [1, 2, 3].map((seed) => ({ data: randomData(H * L * D, seed), shape: [1, H, L, D] }));
  const [q, k, v] = host.map((t) => attn.tensor(t.data, t.shape));
  const variants: [string, SdpaOptions, number?][] = [
    ['softmax', {}],
    ['sigmoid', { normalization: 'sigmoid' }],
    ['top-1 (hard)', { topK: 1 }],
    ['top-8', { topK: 8 }],
    ['top-32', { topK: 32 }],
    ...SHARES.map((s): [string, SdpaOptions, number] => {
      const blockMask = blocksOn(L, s);
      const on = blockMask.mask.data.reduce((a, b) => a + b, 0) / blockMask.mask.data.length;
      return [`block-sparse ${(s * 100).toFixed(1)} %`, { blockMask }, on];
    }),
  ];
  try {
    const cells: VariantRow['cells'] = [];
    for (const [label, options, on] of variants) {
      const cell = await timeCheckedCell(
        attn,
        policy,
        () => attn.sdpa(q, k, v, options) as GpuTensor,
        () => reference.sdpa(host[0], host[1], host[2], { ...options, mask: undefined, returnLse: false }).data,
      );
      cells.push([label, cell, on]);
    }
    return { L, cells };
  } finally {
    [q, k, v].forEach((t) => t.destroy());
  }
}

/** Runs the variants part at every length. */
export async function benchVariants(
  attn: AttentionContext,
  options: VariantOptions,
  log: (line: string) => void,
): Promise<VariantRow[]> {
  const rows: VariantRow[] = [];
  for (const L of options.lengths) {
    rows.push(await lengthRow(attn, options.policy, L));
    log(`  sdpa variants L=${L} done`);
  }
  return rows;
}

const show = (c: Cell) => showCell(c);

/** The markdown table of the variants part, with how to read it. */
export function variantTable(rows: readonly VariantRow[]): string {
  const lines = [
    `### sdpa variants, B=1, H=${H}, Lq = Lk = L, D=${D}, not causal (flash kernel)`,
    '',
    '| variant | L | blocks on | ms | time ÷ softmax | check err/tol |',
    '|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const base = row.cells[0][1];
    for (const [label, cell, on] of row.cells) {
      const ratio = cell.ms !== undefined && base.ms !== undefined ? `${(cell.ms / base.ms).toFixed(2)}×` : '—';
      const blocks = on === undefined ? '—' : `${(on * 100).toFixed(1)} %`;
      const err = cell.error !== undefined ? cell.error.toFixed(2) : '—';
      lines.push(`| ${label} | ${row.L} | ${blocks} | ${show(cell)} | ${ratio} | ${err} |`);
    }
  }
  lines.push(
    '',
    '- ms: median wall-clock from submit to onSubmittedWorkDone after a warm-up (runs in brackets); all in one run.',
    '- sigmoid: fused, no running max, no key split. top-k: per-row sorted lists in private memory (k ≤ 32), one pass over the keys, then P·V over the kept rows. block-sparse: 64 × 64 blocks, the diagonal plus a seeded random share of the rest; key tiles with no block on are skipped. "blocks on" is the share actually on (the diagonal included).',
    '- err/tol: worst |gpu − ref| / (2e-5 + 1e-4·|ref|) over every element against the float64 reference; ≤ 1 passes.',
  );
  return lines.join('\n');
}

/** Whether a timed result failed its check. */
export function variantsWrong(rows: readonly VariantRow[]): boolean {
  return rows.some((r) => r.cells.some(([, c]) => c.error !== undefined && !(c.error <= 1)));
}

/** Standalone run: `main(['--variant-lengths', '512'])`; returns 1 when a check failed. */
export async function main(args: readonly string[]): Promise<number> {
  const value = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const quick = args.includes('--quick');
  const runs = Number(value('--runs') ?? (quick ? 3 : 5));
  const options: VariantOptions = {
    policy: { warmup: 1, runs, minRuns: Math.min(runs, 3), budgetS: quick ? 6 : 20 },
    lengths: (value('--variant-lengths') ?? (quick ? '512' : '1024')).split(',').map(Number),
  };
  const attn = await createAttention({ gpu: await nodeGpu() });
  const started = performance.now();
  try {
    const log = (line: string) => console.error(`${line} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    const rows = await benchVariants(attn, options, log);
    console.log(variantTable(rows));
    return variantsWrong(rows) ? 1 : 0;
  } finally {
    attn.destroy();
  }
}
