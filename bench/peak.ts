/**
 * The device's peak, which WebGPU does not expose: given with `--peak-gflops` / `--peak-gbps` (or
 * WEBGPU_ATTENTION_PEAK_GFLOPS / WEBGPU_ATTENTION_PEAK_GBPS), else looked up by adapter name in a
 * small table of NVIDIA data-centre GPUs, else unknown (and no fraction is printed).
 */

/** A device's f32 peak (GFLOP/s, without tensor cores) and memory bandwidth (GB/s); either may be unknown. */
export interface DevicePeak {
  gflops?: number;
  gbps?: number;
  /** Where each figure came from, in words. */
  source: string;
}

interface KnownGpu {
  /** Matched against the adapter's vendor, device and description, lower-cased, runs of other characters as one space. */
  pattern: RegExp;
  name: string;
  gflops: number;
  gbps?: number;
}

/**
 * NVIDIA's datasheet figures: "FP32" (CUDA cores, not tensor cores) and "GPU memory bandwidth".
 * The FP32 figure is 2 FLOPs (one FMA) × CUDA cores × boost clock: H100 SXM5 and H200 (the same
 * GH100 die, 132 SMs) 2 × 16896 × 1.98 GHz ≈ 67 TFLOP/s; H100 PCIe (114 SMs, 1.755 GHz) 51; A100
 * 2 × 6912 × 1.41 GHz = 19.5. Sources: NVIDIA H100 Tensor Core GPU datasheet (H100 SXM 67 TFLOPS,
 * 3.35 TB/s; H100 PCIe 51 TFLOPS, 2 TB/s; H100 NVL 60 TFLOPS, 3.9 TB/s), NVIDIA H200 Tensor Core
 * GPU datasheet (H200 SXM 67 TFLOPS, H200 NVL 60 TFLOPS, both 4.8 TB/s), NVIDIA A100 datasheet
 * (19.5 TFLOPS; its bandwidth depends on the board, so left unknown). Vulkan names the H100 SXM5
 * "NVIDIA H100 80GB HBM3", the H200 SXM "NVIDIA H200"; the more specific names come first.
 */
const KNOWN_GPUS: readonly KnownGpu[] = [
  { pattern: /\bh200 nvl\b/, name: 'NVIDIA H200 NVL', gflops: 60_000, gbps: 4_800 },
  { pattern: /\bh200\b/, name: 'NVIDIA H200 SXM', gflops: 67_000, gbps: 4_800 },
  { pattern: /\bh100 pcie\b/, name: 'NVIDIA H100 PCIe', gflops: 51_000, gbps: 2_000 },
  { pattern: /\bh100 nvl\b/, name: 'NVIDIA H100 NVL', gflops: 60_000, gbps: 3_900 },
  { pattern: /\bh100\b/, name: 'NVIDIA H100 SXM5', gflops: 67_000, gbps: 3_350 },
  { pattern: /\ba100\b/, name: 'NVIDIA A100', gflops: 19_500 },
];

/** The table's entry for an adapter, if any (NVIDIA adapters only). */
export function knownGpu(info: Record<string, unknown>): KnownGpu | undefined {
  const text = ['vendor', 'device', 'description']
    .map((k) => String(info[k] ?? ''))
    .join(' ')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ');
  if (!/\bnvidia\b/.test(text)) return undefined;
  return KNOWN_GPUS.find((g) => g.pattern.test(text));
}

/** The peak to compare against: the figures given win over the table. */
export function devicePeak(info: Record<string, unknown>, given: { gflops?: number; gbps?: number }): DevicePeak {
  const known = knownGpu(info);
  const gflops = given.gflops ?? known?.gflops;
  const gbps = given.gbps ?? known?.gbps;
  const from = (mine: number | undefined, option: string) =>
    mine !== undefined ? option : known ? `built-in table (${known.name}, NVIDIA's datasheet)` : '';
  const parts = [
    gflops !== undefined ? `f32 ${(gflops / 1000).toFixed(1)} TFLOP/s from ${from(given.gflops, '--peak-gflops')}` : '',
    gbps !== undefined ? `memory ${(gbps / 1000).toFixed(2)} TB/s from ${from(given.gbps, '--peak-gbps')}` : '',
  ].filter(Boolean);
  return { gflops, gbps, source: parts.join('; ') };
}

/** The header line: the peak in use, or how to give one. */
export function peakLine(p: DevicePeak): string {
  const missing = [
    p.gflops === undefined ? 'f32 peak unknown (give --peak-gflops N or WEBGPU_ATTENTION_PEAK_GFLOPS)' : '',
    p.gbps === undefined ? 'memory bandwidth unknown (--peak-gbps N or WEBGPU_ATTENTION_PEAK_GBPS)' : '',
  ].filter(Boolean);
  return `Device peak: ${[p.source, ...missing].filter(Boolean).join('; ')}`;
}

/** "12.3 %" of the peak, or '' where the peak or the value is unknown. */
export function ofPeak(value: number | undefined, peak: number | undefined): string {
  if (value === undefined || peak === undefined || !Number.isFinite(value)) return '';
  const pct = (100 * value) / peak;
  return `${pct >= 10 ? pct.toFixed(1) : pct >= 0.1 ? pct.toFixed(2) : pct.toExponential(1)} %`;
}

/** One measured rate: a compute-bound figure (GFLOP/s) or a memory-bound one (GB/s). */
export interface Figure {
  part: string;
  shape: string;
  impl: string;
  gflops?: number;
  gbps?: number;
}

const fmtRate = (g: number) =>
  g >= 100 ? g.toFixed(0) : g >= 10 ? g.toFixed(1) : g >= 1 ? g.toFixed(2) : g.toFixed(3);

/** The markdown table of every figure against the peak (a fraction only where the peak is known). */
export function peakTable(figures: readonly Figure[], p: DevicePeak): string {
  const head = ['part', 'shape', 'implementation', 'GFLOP/s', 'fraction of f32 peak', 'GB/s', 'fraction of bandwidth'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const f of figures) {
    const cells = [
      f.part,
      f.shape,
      f.impl,
      f.gflops !== undefined ? fmtRate(f.gflops) : '—',
      ofPeak(f.gflops, p.gflops) || '—',
      f.gbps !== undefined ? fmtRate(f.gbps) : '—',
      ofPeak(f.gbps, p.gbps) || '—',
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return [
    "### Against the device's peak",
    '',
    peakLine(p),
    '',
    ...lines,
    '',
    "- GFLOP/s as in each table above (attended pairs only for causal rows); GB/s = K/V bytes read ÷ time (decode). A fraction is printed only where the device's peak is known; WebGPU does not report it. The f32 peak excludes tensor cores (WebGPU cannot use them), and the GPU times here include each call's submission (wall clock to onSubmittedWorkDone), so small shapes sit far below the peak.",
  ].join('\n');
}
