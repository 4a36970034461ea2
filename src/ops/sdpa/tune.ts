/**
 * `attn.tune(shapes?, { runs? })`: times the flash kernel's candidate tilings (and, for decoding,
 * the planned key split against none) on this device for each shape's class, keeps the fastest for
 * the context, and returns them as a JSON-safe `Tuning` to store and pass back as
 * `createAttention({ tuning })`. Wall-clock per call (submit → onSubmittedWorkDone), median of
 * `runs` after one warm-up run that also compiles. Without tuning, the plan's default stays.
 */
import { validateSdpaShapes, type SdpaDims } from '../../contract/sdpa';
import { AttentionError, describe } from '../../errors';
import type { GpuRuntime } from '../../gpu/runtime';
import { GpuTensor } from '../../tensor';
import { planSdpa, TILE_PREFERENCES, type SdpaTile } from './plan';
import { sdpa } from './sdpa';
import { keepTuning, shapeClass, type Tuning, type TuningEntry } from './tuning';

/** A shape to tune for: B, Hq, Hkv default 1, 8, Hq; Dv defaults to D. */
export interface TuneShape {
  B?: number;
  Hq?: number;
  Hkv?: number;
  Lq: number;
  Lk: number;
  D: number;
  Dv?: number;
  causal?: boolean;
}

/** Prefill and decoding at common head dims, small enough to tune in seconds on a GPU. */
export const DEFAULT_TUNE_SHAPES: readonly TuneShape[] = [
  { Hq: 8, Lq: 1024, Lk: 1024, D: 64 },
  { Hq: 8, Lq: 1024, Lk: 1024, D: 64, causal: true },
  { Hq: 32, Hkv: 8, Lq: 1, Lk: 4096, D: 128, causal: true },
];

function checkShapes(shapes: unknown): { dims: SdpaDims; causal: boolean }[] {
  if (!Array.isArray(shapes) || shapes.length === 0) {
    throw new AttentionError(
      'shapes',
      describe(shapes),
      'a non-empty array of { Lq, Lk, D, Dv?, B?, Hq?, Hkv?, causal? }',
    );
  }
  return shapes.map((s: Partial<TuneShape> | null, i) => {
    const B = s?.B ?? 1;
    const Hq = s?.Hq ?? 8;
    const Hkv = s?.Hkv ?? Hq;
    const Dv = s?.Dv ?? s?.D;
    try {
      const dims = validateSdpaShapes([B, Hq, s!.Lq!, s!.D!], [B, Hkv, s!.Lk!, s!.D!], [B, Hkv, s!.Lk!, Dv!]);
      return { dims, causal: s?.causal === true };
    } catch (error) {
      const why = error instanceof AttentionError ? `: ${error.message}` : '';
      throw new AttentionError(`shapes[${i}]`, describe(s), `sizes sdpa takes${why}`);
    }
  });
}

/** The tilings worth timing for a call: those that fit, no larger than its rows need; for decoding, also one split. */
export function tuneCandidates(dims: SdpaDims, limits: GPUSupportedLimits): SdpaTile[] {
  const rows = Math.max(4, Math.ceil(((dims.Hq / dims.Hkv) * dims.Lq) / 4) * 4);
  const fits = TILE_PREFERENCES.filter((t) => t.blockQ <= rows).filter((t) => {
    try {
      planSdpa(dims, limits, t);
      return true;
    } catch {
      return false;
    }
  });
  const decode = shapeClass(dims, false).includes('decode');
  return decode ? fits.flatMap((t) => [t, { ...t, kvSplits: 1 }]) : fits;
}

async function median(runtime: GpuRuntime, runs: number, call: () => unknown): Promise<number> {
  const once = async () => {
    const t0 = performance.now();
    const r = call();
    await runtime.device.queue.onSubmittedWorkDone();
    const ms = performance.now() - t0;
    (r as GpuTensor).destroy();
    return ms;
  };
  await once(); // compiles
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  return times.sort((a, b) => a - b)[times.length >> 1];
}

async function tuneShape(runtime: GpuRuntime, dims: SdpaDims, causal: boolean, runs: number): Promise<TuningEntry> {
  const { B, Hq, Hkv, Lq, Lk, D, Dv } = dims;
  // Inputs of the shape, on pooled buffers (the data only has to be finite).
  const input = (shape: number[]) => {
    const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.7) * 0.5);
    const buffer = runtime.pool.acquire(data.byteLength, `tune input [${shape.join(', ')}]`);
    runtime.device.queue.writeBuffer(buffer, 0, data);
    return new GpuTensor(runtime, buffer, shape, 0, true);
  };
  const [q, k, v] = [input([B, Hq, Lq, D]), input([B, Hkv, Lk, D]), input([B, Hkv, Lk, Dv])];
  try {
    const time = (tile?: SdpaTile) => median(runtime, runs, () => sdpa(runtime, q, k, v, { causal, tile }));
    const defaultMs = await time(planSdpa(dims, runtime.device.limits).tile);
    let best: { tile: SdpaTile; ms: number } = { tile: planSdpa(dims, runtime.device.limits).tile, ms: defaultMs };
    for (const tile of tuneCandidates(dims, runtime.device.limits)) {
      const ms = await time(tile);
      if (ms < best.ms) best = { tile, ms };
    }
    return { shapeClass: shapeClass(dims, causal), tile: best.tile, ms: best.ms, defaultMs };
  } finally {
    [q, k, v].forEach((t) => t.destroy());
  }
}

/**
 * Tunes every shape's class on this context and keeps the winners.
 * @example
 * const tuning = await attn.tune([{ Hq: 32, Hkv: 8, Lq: 1, Lk: 8192, D: 128, causal: true }]);
 * localStorage.tuning = JSON.stringify(tuning); // later: createAttention({ tuning: JSON.parse(…) })
 */
export async function tune(
  runtime: GpuRuntime,
  adapter: string,
  shapes: unknown = DEFAULT_TUNE_SHAPES,
  options?: { runs?: number },
): Promise<Tuning> {
  runtime.assertAlive();
  const checked = checkShapes(shapes);
  const runs = options?.runs ?? 3;
  if (!Number.isInteger(runs) || runs < 1 || runs > 100) {
    throw new AttentionError('options.runs', describe(runs), 'an integer from 1 to 100');
  }
  const entries: TuningEntry[] = [];
  for (const { dims, causal } of checked) entries.push(await tuneShape(runtime, dims, causal, runs));
  keepTuning(runtime, entries);
  return { version: 1, adapter, entries };
}
