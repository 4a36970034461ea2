/**
 * `attn.tune(shapes?, { runs? })`: times the flash kernel's candidate tilings (and, for decoding,
 * the planned key split against none) and the GEMM's (shaders/linear.wgsl, for `{ M, N, K }`
 * shapes) on this device for each shape's class, keeps the fastest for the context, and returns them
 * as a JSON-safe `Tuning` to store and pass back as `createAttention({ tuning })`. Wall-clock per
 * call (submit → onSubmittedWorkDone), median of `runs` after one warm-up run that also compiles.
 * Without tuning, the plans' defaults stay.
 */
import type { MatmulDims } from '../../contract/linear';
import { validateSdpaShapes, type SdpaDims } from '../../contract/sdpa';
import { AttentionError, describe } from '../../errors';
import type { GpuRuntime } from '../../gpu/runtime';
import { GpuTensor } from '../../tensor';
import { encodeMatmul, operandOf, plainOutput } from '../linear/encode';
import { planMatmul, type MatmulTile } from '../linear/plan';
import { linearClass, linearTuneCandidates } from '../linear/plan-tuning';
import { planSdpa, TILE_PREFERENCES, type SdpaTile } from './plan';
import { sdpa } from './sdpa';
import { keepTuning, shapeClass, type LinearTuningEntry, type Tuning, type TuningEntry } from './tuning';

/** An attention shape to tune for: B, Hq, Hkv default 1, 8, Hq; Dv defaults to D. */
export interface SdpaTuneShape {
  B?: number;
  Hq?: number;
  Hkv?: number;
  Lq: number;
  Lk: number;
  D: number;
  Dv?: number;
  causal?: boolean;
}

/** A GEMM to tune for (`attn.linear`, a layer's projections): C [M, N] = X [M, K] · W [N, K]ᵀ. */
export interface LinearTuneShape {
  M: number;
  N: number;
  K: number;
}

export type TuneShape = SdpaTuneShape | LinearTuneShape;

/** Prefill and decoding at common head dims and a projection's GEMM, small enough to tune in seconds on a GPU. */
export const DEFAULT_TUNE_SHAPES: readonly TuneShape[] = [
  { Hq: 8, Lq: 1024, Lk: 1024, D: 64 },
  { Hq: 8, Lq: 1024, Lk: 1024, D: 64, causal: true },
  { Hq: 32, Hkv: 8, Lq: 1, Lk: 4096, D: 128, causal: true },
  { M: 1024, N: 1024, K: 1024 },
  { M: 1, N: 2048, K: 2048 },
];

type Checked = { kind: 'sdpa'; dims: SdpaDims; causal: boolean } | { kind: 'linear'; dims: MatmulDims };

function checkShape(s: Partial<SdpaTuneShape & LinearTuneShape> | null, i: number): Checked {
  const fail = (expected: string): never => {
    throw new AttentionError(`shapes[${i}]`, describe(s), expected);
  };
  if (s !== null && typeof s === 'object' && 'M' in s) {
    const size = (v: unknown) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 2 ** 31 - 1;
    if (![s.M, s.N, s.K].every(size)) fail('a GEMM { M, N, K } of positive integer sizes');
    return { kind: 'linear', dims: { M: s.M!, N: s.N!, K: s.K! } };
  }
  const B = s?.B ?? 1;
  const Hq = s?.Hq ?? 8;
  const Hkv = s?.Hkv ?? Hq;
  const Dv = s?.Dv ?? s?.D;
  try {
    const dims = validateSdpaShapes([B, Hq, s!.Lq!, s!.D!], [B, Hkv, s!.Lk!, s!.D!], [B, Hkv, s!.Lk!, Dv!]);
    return { kind: 'sdpa', dims, causal: s?.causal === true };
  } catch (error) {
    return fail(`sizes sdpa takes${error instanceof AttentionError ? `: ${error.message}` : ''}`);
  }
}

function checkShapes(shapes: unknown): Checked[] {
  if (!Array.isArray(shapes) || shapes.length === 0) {
    throw new AttentionError(
      'shapes',
      describe(shapes),
      'a non-empty array of { Lq, Lk, D, Dv?, B?, Hq?, Hkv?, causal? } or { M, N, K }',
    );
  }
  return shapes.map(checkShape);
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

/** Median wall-clock of `runs` calls after a warm-up; `call` returns a tensor to free, or the submission's promise. */
async function median(runtime: GpuRuntime, runs: number, call: () => GpuTensor | Promise<void>): Promise<number> {
  const once = async () => {
    const t0 = performance.now();
    const r = call();
    if (r instanceof Promise) await r;
    await runtime.device.queue.onSubmittedWorkDone();
    const ms = performance.now() - t0;
    if (r instanceof GpuTensor) r.destroy();
    return ms;
  };
  await once(); // compiles
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  return times.sort((a, b) => a - b)[times.length >> 1];
}

/** A tensor of `shape` on a pooled buffer (the data only has to be finite). */
function input(runtime: GpuRuntime, shape: number[]): GpuTensor {
  const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.7) * 0.5);
  const buffer = runtime.pool.acquire(data.byteLength, `tune input [${shape.join(', ')}]`);
  runtime.device.queue.writeBuffer(buffer, 0, data);
  return new GpuTensor(runtime, buffer, shape, 0, true);
}

/** Times `candidates` after `first` (the plan's default) and keeps the fastest. */
async function fastest<T>(first: T, candidates: T[], time: (t: T) => Promise<number>) {
  const defaultMs = await time(first);
  let best = { tile: first, ms: defaultMs };
  for (const tile of candidates) {
    const ms = await time(tile);
    if (ms < best.ms) best = { tile, ms };
  }
  return { ...best, defaultMs };
}

async function tuneShape(runtime: GpuRuntime, dims: SdpaDims, causal: boolean, runs: number): Promise<TuningEntry> {
  const { B, Hq, Hkv, Lq, Lk, D, Dv } = dims;
  const [q, k, v] = [input(runtime, [B, Hq, Lq, D]), input(runtime, [B, Hkv, Lk, D]), input(runtime, [B, Hkv, Lk, Dv])];
  try {
    const time = (tile?: SdpaTile) =>
      median(runtime, runs, () => sdpa(runtime, q, k, v, { causal, tile }) as GpuTensor);
    const first = planSdpa(dims, runtime.device.limits).tile;
    const best = await fastest(first, tuneCandidates(dims, runtime.device.limits), time);
    return { shapeClass: shapeClass(dims, causal), ...best };
  } finally {
    [q, k, v].forEach((t) => t.destroy());
  }
}

async function tuneLinear(runtime: GpuRuntime, dims: MatmulDims, runs: number): Promise<LinearTuningEntry> {
  const { M, N, K } = dims;
  const limits = runtime.device.limits;
  const [x, w] = [input(runtime, [M, K]), input(runtime, [N, K])];
  const out = runtime.pool.acquire(M * N * 4, `tune output [${M}, ${N}]`);
  const call = { x: operandOf(x), xStrideM: K, M, K, weight: operandOf(w), N, out: plainOutput({ buffer: out }, M, N) };
  try {
    const time = (tile: MatmulTile) => {
      const dispatch = () => encodeMatmul(runtime, call, planMatmul(dims, limits, 'shapes', tile));
      return median(runtime, runs, () => runtime.run(`tune linear [${M}, ${N}, ${K}]`, [dispatch()]));
    };
    const first = planMatmul(dims, limits).tile;
    const best = await fastest(first, linearTuneCandidates(M, limits), time);
    return { shapeClass: linearClass(M), ...best };
  } finally {
    [x, w].forEach((t) => t.destroy());
    runtime.pool.release(out);
  }
}

/**
 * Tunes every shape's class on this context and keeps the winners.
 * @example
 * const tuning = await attn.tune([{ Hq: 32, Hkv: 8, Lq: 1, Lk: 8192, D: 128, causal: true }, { M: 4096, N: 2048, K: 2048 }]);
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
  for (const c of checked) {
    entries.push(
      c.kind === 'linear' ? await tuneLinear(runtime, c.dims, runs) : await tuneShape(runtime, c.dims, c.causal, runs),
    );
  }
  keepTuning(runtime, entries);
  return { version: 1, adapter, entries };
}
