/**
 * Wall-clock timing of GPU work (docs/architecture.md, "Measuring"): from the call that encodes and
 * submits to `queue.onSubmittedWorkDone()`, after warm-up, median of several runs.
 *
 * Why not timestamp queries: SwiftShader offers 'timestamp-query', but WebGPU only writes
 * timestamps through a pass's `timestampWrites`, and the library's passes are encoded inside
 * `attn.sdpa`; measuring them would need a timing hook in src/gpu (not the bench's to add).
 */

/** How many runs to time, and how long one cell may take. */
export interface RunPolicy {
  warmup: number;
  /** Runs wanted. */
  runs: number;
  /** At least this many runs, even past the budget. */
  minRuns: number;
  /** Seconds one cell may spend on timed runs once `minRuns` are done. */
  budgetS: number;
}

export interface Timing {
  medianMs: number;
  minMs: number;
  runs: number;
  samplesMs: number[];
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Times `once` (which submits work and resolves when the GPU has finished it) under `policy`.
 * @example
 * const t = await timeRuns(async () => { attn.sdpa(q, k, v).destroy(); await device.queue.onSubmittedWorkDone(); }, policy);
 */
export async function timeRuns(once: () => Promise<void>, policy: RunPolicy): Promise<Timing> {
  for (let i = 0; i < policy.warmup; i++) await once();
  const samplesMs: number[] = [];
  let spentMs = 0;
  while (samplesMs.length < policy.runs) {
    if (samplesMs.length >= policy.minRuns && spentMs + median(samplesMs) > policy.budgetS * 1000) break;
    const t0 = performance.now();
    await once();
    const ms = performance.now() - t0;
    samplesMs.push(ms);
    spentMs += ms;
  }
  return { medianMs: median(samplesMs), minMs: Math.min(...samplesMs), runs: samplesMs.length, samplesMs };
}

/** Times a CPU function once (the float64 reference is too slow to repeat at large sizes). */
export function timeOnce<T>(fn: () => T): { result: T; ms: number } {
  const t0 = performance.now();
  const result = fn();
  return { result, ms: performance.now() - t0 };
}
