/**
 * The decode part of `npm run bench` (the "inference" issue): attention for generating one token
 * at a time, where the work is reading the KV cache.
 *
 *  1. Decode, B=1, Hq=32, Hkv=8, D=128, Lq=1, Lk ∈ --decode-lengths: ms per token (one attention
 *     call of one layer) and GB/s of K/V read (2·B·Hkv·Lk·D·bytes ÷ time) for the flash kernel as
 *     planned (split-K), the flash kernel forced to one split, the naive kernel, the flash kernel on
 *     an attn.kvCache's strided views, and f16 storage where `attn.tensor(…, { dtype: 'f16' })`
 *     exists. Every call is causal lower-right (a decode step: the query is the last position).
 *  2. The issue's two decode shapes against onnxruntime-web's WebGPU MultiHeadAttention
 *     (B·H·Lq·Lk·D = 1·8·1·1024·64 and 1·32·1·4096·128): the same bytes to all three, bshd, no mask.
 *  3. Prefill, B=1, Hq=32, Hkv=8, D=128, causal, L ∈ --prefill-lengths: the flash kernel as planned.
 *
 * Every timed result is checked against the float64 reference first (the decode row; eight
 * sampled rows of a prefill). Timing as in the rest of the bench (bench/timing.ts).
 */
import { reference, type AttentionContext, type GpuTensor } from '../src/index';
import { planSdpa, type SdpaPlan } from '../src/ops/sdpa/plan';
import { randomData, sampleRows, swapHeadsAndRows, worstError, type ExpectedRows } from './check';
import type { OrtInputs, OrtRun, OrtSession, OrtWebGpu } from './ort';
import type { Cell } from './report';
import { timeRuns, type RunPolicy } from './timing';

export interface DecodeOptions {
  policy: RunPolicy;
  /** Skip a decode or ORT cell whose one run is predicted (from a smaller Lk) to take longer. */
  maxRunS: number;
  /** Lk of the decode table. */
  lengths: number[];
  /** L of the prefill table, in order: the first also compiles the pipeline (and predicts the next). */
  prefillLengths: number[];
  prefillMaxRunS: number;
  /** The table against ORT's decode (false with --no-ort: its flash and naive cells are left out too). */
  ortTable: boolean;
  /** performance.now() after which no new row starts (run.ts's --time-cap-s); Infinity without. */
  deadline: number;
}

/** The decode table's sizes. */
export const DECODE = { B: 1, Hq: 32, Hkv: 8, D: 128 } as const;
/** The issue's decode shapes against ORT (B·H·Lq·Lk·D; H = Hq = Hkv). */
export const ORT_SHAPES = [
  { H: 8, Lk: 1024, D: 64 },
  { H: 32, Lk: 4096, D: 128 },
] as const;

/** A timed cell: Cell's ms (×runs) and check; `gbps` = K/V bytes ÷ time. */
export interface DecodeCell extends Cell {
  gbps?: number;
  predictedMs?: number;
  /** Every timed run's ms (in the JSON, and the spread under the tables). */
  samplesMs?: number[];
}

type Dtype = 'f32' | 'f16';
const BYTES: Record<Dtype, number> = { f32: 4, f16: 2 };

/** One column of the decode table: a way to run the decode step. */
export interface DecodeVariant {
  key: 'flash' | 'oneSplit' | 'naive' | 'kvCache' | 'flashF16';
  label: string;
  dtype: Dtype;
}

export const DECODE_VARIANTS: readonly DecodeVariant[] = [
  { key: 'flash', label: 'flash, split-K as planned', dtype: 'f32' },
  { key: 'oneSplit', label: 'flash, 1 split', dtype: 'f32' },
  { key: 'naive', label: 'naive', dtype: 'f32' },
  { key: 'kvCache', label: 'flash on kvCache views', dtype: 'f32' },
  { key: 'flashF16', label: 'flash f16, planned', dtype: 'f16' },
];

export interface DecodeRow {
  Lk: number;
  /** Bytes of K and V in f32 (2·B·Hkv·Lk·D·4); an f16 cell's GB/s uses half. */
  kvBytes: number;
  plan: string;
  cells: Partial<Record<DecodeVariant['key'], DecodeCell>>;
}

export interface OrtDecodeRow {
  H: number;
  Lk: number;
  D: number;
  kvBytes: number;
  plan: string;
  /** ORT given the whole K/V as key/value. */
  ort: DecodeCell;
  /** ORT given its KV-cache feed: past_key/past_value of Lk − 1 tokens and one new token. */
  ortPast: DecodeCell;
  flash: DecodeCell;
  naive: DecodeCell;
  /** ORT's program names (its shader-module labels) created by its first run of this shape, per feed. */
  ortPrograms: string[];
  ortPastPrograms: string[];
}

export interface PrefillRow {
  L: number;
  /** 4·B·Hq·L²·D. */
  denseFlops: number;
  /** 4·B·Hq·D·L(L+1)/2: the pairs a causal row attends. */
  unmaskedFlops: number;
  plan: string;
  flash: DecodeCell;
}

export interface DecodeResults {
  f16: string;
  /** Which of ORT's paths ran: with the adapter's subgroups or with them hidden (bench/ort.ts, checkOrt). */
  ortSubgroups: string;
  decode: DecodeRow[];
  ort: OrtDecodeRow[];
  ortNotes: string[];
  prefill: PrefillRow[];
  /** Rows not run because the deadline had passed. */
  capped: string[];
  /** Why the ORT table is absent, where it is. */
  ortTableNote?: string;
}

const errorText = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 160);

/** Runs one call and resolves when the GPU has finished it; `first` also returns the output. */
interface Runner {
  first: () => Promise<ArrayLike<number>>;
  run: () => Promise<void>;
}

/** A library call as a Runner. */
function libraryRunner(attn: AttentionContext, call: () => GpuTensor): Runner {
  return {
    first: async () => {
      const o = call();
      try {
        return await o.read();
      } finally {
        o.destroy();
      }
    },
    run: async () => {
      call().destroy();
      await attn.device.queue.onSubmittedWorkDone();
    },
  };
}

interface Timer {
  policy: RunPolicy;
  /** Measured ms per unit (byte or FLOP) of each kernel at its last size, for the next prediction. */
  msPerUnit: Map<string, number>;
}

/**
 * Times `runner` (its first run checked: `check` gives worst err/tol) unless a smaller size
 * predicts one run past `maxRunS`. A first run longer than half the cell budget is the only sample,
 * once this kernel has run at a smaller size (its pipelines are compiled); as in bench/run.ts.
 */
async function timeCell(
  t: Timer,
  key: string,
  units: number,
  maxRunS: number,
  make: () => Runner,
  check: (got: ArrayLike<number>) => number,
  checked: string,
): Promise<DecodeCell> {
  const predictedMs = (t.msPerUnit.get(key) ?? 0) * units;
  if (predictedMs / 1000 > maxRunS)
    return { predictedMs, skipped: `one run predicted to take ${(predictedMs / 1000).toFixed(0)} s > ${maxRunS} s` };
  try {
    const runner = make();
    const t0 = performance.now();
    const got = await runner.first();
    const firstMs = performance.now() - t0;
    const error = check(got);
    const compiledBefore = t.msPerUnit.has(key);
    const timing =
      compiledBefore && firstMs > (t.policy.budgetS * 1000) / 2
        ? { medianMs: firstMs, runs: 1, checkedRunOnly: true, samplesMs: [firstMs] }
        : {
            ...(await timeRuns(runner.run, { ...t.policy, warmup: firstMs < 2000 ? t.policy.warmup : 0 })),
            checkedRunOnly: false,
          };
    t.msPerUnit.set(key, timing.medianMs / units);
    const { medianMs: ms, runs, checkedRunOnly, samplesMs } = timing;
    return { ms, runs, checkedRunOnly, samplesMs, error, checked };
  } catch (error) {
    return { skipped: errorText(error) };
  }
}

/** Adds GB/s (bytes ÷ ms) to a timed cell. */
function withRate(cell: DecodeCell, bytes: number): DecodeCell {
  return cell.ms === undefined ? cell : { ...cell, gbps: bytes / (cell.ms * 1e6) };
}

/** f32 → nearest f16 (ties to even) → f32: the values an f16 tensor holds, for its reference. */
export function roundToF16(values: Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    const a = Math.abs(x);
    if (!Number.isFinite(x) || a >= 65520) {
      out[i] = Number.isNaN(x) ? NaN : Math.sign(x) * Infinity;
      continue;
    }
    // The spacing of f16 values around a: 2^(e − 10) for normals, 2^−24 for subnormals.
    const e = a < 2 ** -14 ? -14 : Math.floor(Math.log2(a));
    const ulp = 2 ** (e - 10);
    const q = a / ulp;
    let n = Math.round(q);
    if (Math.abs(q - Math.trunc(q) - 0.5) < 1e-12 && n % 2 !== 0) n -= 1; // ties to even
    out[i] = Math.sign(x) * n * ulp;
  }
  return out;
}

/** q [B, Hq, Lq, D] and k, v [B, Hkv, Lk, D] (bhsd), as host data. */
interface GqaData {
  Hq: number;
  Hkv: number;
  Lq: number;
  Lk: number;
  D: number;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
}

function gqaData(Hq: number, Hkv: number, Lq: number, Lk: number, D: number, seed: number): GqaData {
  return {
    Hq,
    Hkv,
    Lq,
    Lk,
    D,
    q: randomData(Hq * Lq * D, seed),
    k: randomData(Hkv * Lk * D, seed + 1),
    v: randomData(Hkv * Lk * D, seed + 2),
  };
}

/**
 * The float64 reference on query rows `rows`, causal lower-right (row i sees keys [0, i + Lk − Lq]),
 * with grouped-query heads; each row alone against the keys it sees. Returns row → [Hq·D] (head-major).
 */
function gqaReferenceRows(d: GqaData, rows: readonly number[]): ExpectedRows {
  const expected: ExpectedRows = new Map();
  for (const i of rows) {
    const n = i + d.Lk - d.Lq + 1;
    const q = new Float32Array(d.Hq * d.D);
    for (let h = 0; h < d.Hq; h++) q.set(d.q.subarray((h * d.Lq + i) * d.D, (h * d.Lq + i + 1) * d.D), h * d.D);
    const keys = (data: Float32Array) => {
      if (n === d.Lk) return data;
      const out = new Float32Array(d.Hkv * n * d.D);
      for (let h = 0; h < d.Hkv; h++) out.set(data.subarray(h * d.Lk * d.D, (h * d.Lk + n) * d.D), h * n * d.D);
      return out;
    };
    const out = reference.sdpa(
      { data: q, shape: [1, d.Hq, 1, d.D] },
      { data: keys(d.k), shape: [1, d.Hkv, n, d.D] },
      { data: keys(d.v), shape: [1, d.Hkv, n, d.D] },
    );
    expected.set(i, out.data);
  }
  return expected;
}

function planText(p: SdpaPlan): string {
  const split =
    p.kvSplits > 1 ? `${p.kvSplits} splits × ${p.tilesPerSplit} tiles` : `1 split (${p.tilesPerSplit} tiles)`;
  return `${p.tile.blockQ}×${p.tile.tileKv}, ${split}, ${p.workgroupCount} wg × ${p.workgroupSize}`;
}

/** `attn.tensor(data, shape, { dtype })`: the bench's inputs as f32 or f16 storage. */
function tensorOf(attn: AttentionContext, data: Float32Array, shape: number[], dtype: Dtype): GpuTensor {
  return attn.tensor(data, shape, { dtype });
}

/** Whether f16 storage runs here: a tiny f16 sdpa call; '' if it does, else why not. */
async function f16Support(attn: AttentionContext): Promise<string> {
  const made: GpuTensor[] = [];
  try {
    const x = new Float32Array(4 * 4).fill(0.5);
    for (let i = 0; i < 3; i++) made.push(tensorOf(attn, x, [1, 1, 4, 4], 'f16'));
    const o = attn.sdpa(made[0], made[1], made[2]);
    made.push(o);
    await o.read();
    return '';
  } catch (error) {
    return errorText(error);
  } finally {
    made.forEach((t) => t.destroy());
  }
}

async function decodeRow(attn: AttentionContext, t: Timer, options: DecodeOptions, Lk: number, f16: string) {
  const { B, Hq, Hkv, D } = DECODE;
  const data = gqaData(Hq, Hkv, 1, Lk, D, 11);
  const kvBytes = 2 * B * Hkv * Lk * D * BYTES.f32;
  const plan = planSdpa({ B, Hq, Hkv, Lq: 1, Lk, D, Dv: D }, attn.device.limits);
  const decodeStep = { causal: true, alignment: 'lower-right' } as const;
  const expected = gqaReferenceRows(data, [0]);
  const check = (e: ExpectedRows) => (got: ArrayLike<number>) =>
    worstError(got, e, { heads: Hq, length: 1, headDim: D });
  const q = attn.tensor(data.q, [B, Hq, 1, D]);
  const k = attn.tensor(data.k, [B, Hkv, Lk, D]);
  const v = attn.tensor(data.v, [B, Hkv, Lk, D]);
  const cells: DecodeRow['cells'] = {};
  const cell = async (variant: DecodeVariant, make: () => Runner, e = expected, bytes = kvBytes) =>
    (cells[variant.key] = withRate(
      await timeCell(t, variant.key, bytes, options.maxRunS, make, check(e), 'row'),
      bytes,
    ));
  const [flash, oneSplit, naive, kvCache, flashF16] = DECODE_VARIANTS;
  try {
    await cell(flash, () => libraryRunner(attn, () => attn.sdpa(q, k, v, decodeStep)));
    const single = { ...decodeStep, tile: { ...plan.tile, kvSplits: 1 } };
    await cell(oneSplit, () => libraryRunner(attn, () => attn.sdpa(q, k, v, single)));
    await cell(naive, () => libraryRunner(attn, () => attn.sdpaNaive(q, k, v, decodeStep)));
    // A cache with room for as many tokens again (as just after a growth by doubling): each head's
    // keys are Lk·D floats followed by a gap, so the kernel reads strided views.
    const cache = attn.kvCache({ batch: B, kvHeads: Hkv, headDim: D, capacity: 2 * Lk });
    try {
      cache.append(k, v);
      await cell(kvCache, () => libraryRunner(attn, () => attn.sdpa(q, cache.keys, cache.values, decodeStep)));
    } finally {
      cache.destroy();
    }
    if (f16) {
      cells.flashF16 = { skipped: `f16 storage not available: ${f16}` };
    } else {
      const rounded = { ...data, q: roundToF16(data.q), k: roundToF16(data.k), v: roundToF16(data.v) };
      const e16 = gqaReferenceRows(rounded, [0]);
      const h: GpuTensor[] = [];
      try {
        h.push(tensorOf(attn, data.q, [B, Hq, 1, D], 'f16'));
        h.push(tensorOf(attn, data.k, [B, Hkv, Lk, D], 'f16'));
        h.push(tensorOf(attn, data.v, [B, Hkv, Lk, D], 'f16'));
        const call = () => attn.sdpa(h[0], h[1], h[2], decodeStep);
        await cell(flashF16, () => libraryRunner(attn, call), e16, kvBytes / 2);
      } catch (error) {
        cells.flashF16 = { skipped: `f16 tensors: ${errorText(error)}` };
      } finally {
        h.forEach((x) => x.destroy());
      }
    }
  } finally {
    [q, k, v].forEach((x) => x.destroy());
  }
  return { Lk, kvBytes, plan: planText(plan), cells };
}

/** The first `P` keys of every head of bhsd data [H, Lk, D]: [1, H, P, D]. */
function rowsOf(data: Float32Array, H: number, Lk: number, D: number, P: number): Float32Array {
  const out = new Float32Array(H * P * D);
  for (let h = 0; h < H; h++) out.set(data.subarray(h * Lk * D, (h * Lk + P) * D), h * P * D);
  return out;
}

/** One ORT decode session of `inputs`' feed, timed and checked; the programs its first run created. */
async function ortCell(
  ort: OrtWebGpu | null,
  t: Timer,
  options: DecodeOptions,
  key: string,
  kvBytes: number,
  check: (got: ArrayLike<number>) => number,
  H: number,
  D: number,
  inputs: OrtInputs,
): Promise<{ cell: DecodeCell; programs: string[] }> {
  if (!ort) return { cell: { skipped: 'ORT did not load (see above)' }, programs: [] };
  let run: OrtRun | undefined;
  let session: OrtSession | undefined;
  try {
    session = await ort.session(H, D, false, { queryLength: 1, past: inputs.past !== undefined });
    const r = session.bind(inputs);
    run = r;
    const mark = ort.shaderLabels.length;
    const runner = () => ({ first: () => r.output(), run: () => r.run() });
    const cell = await timeCell(t, key, kvBytes, options.maxRunS, runner, check, 'row');
    return { cell, programs: [...new Set(ort.shaderLabels.slice(mark))] };
  } catch (error) {
    return { cell: { skipped: `ORT failed: ${errorText(error)}` }, programs: [] };
  } finally {
    run?.release();
    await session?.release();
  }
}

async function ortRow(
  attn: AttentionContext,
  ort: OrtWebGpu | null,
  t: Timer,
  options: DecodeOptions,
  shape: { H: number; Lk: number; D: number },
): Promise<OrtDecodeRow> {
  const { H, Lk, D } = shape;
  const kvBytes = 2 * H * Lk * D * 4;
  // bshd bytes for everyone: q [1, 1, H, D] (= bhsd for one query), k and v [1, Lk, H, D].
  const q = randomData(H * D, 21);
  const [k, v] = [randomData(Lk * H * D, 22), randomData(Lk * H * D, 23)];
  const bhsd = (x: Float32Array) => swapHeadsAndRows(x, Lk, H, D);
  const data: GqaData = { Hq: H, Hkv: H, Lq: 1, Lk, D, q, k: bhsd(k), v: bhsd(v) };
  const expected = gqaReferenceRows(data, [0]);
  const check = (got: ArrayLike<number>) => worstError(got, expected, { heads: H, length: 1, headDim: D });
  const plan = planSdpa({ B: 1, Hq: H, Hkv: H, Lq: 1, Lk, D, Dv: D }, attn.device.limits);
  const tq = attn.tensor(q, [1, 1, H, D]);
  const tk = attn.tensor(k, [1, Lk, H, D]);
  const tv = attn.tensor(v, [1, Lk, H, D]);
  const bshd = { layout: 'bshd' } as const;
  const key = (name: string) => `ort-table ${name} D=${D}`;
  try {
    const flash = await timeCell(
      t,
      key('flash'),
      kvBytes,
      options.maxRunS,
      () => libraryRunner(attn, () => attn.sdpa(tq, tk, tv, bshd)),
      check,
      'row',
    );
    const naive = await timeCell(
      t,
      key('naive'),
      kvBytes,
      options.maxRunS,
      () => libraryRunner(attn, () => attn.sdpaNaive(tq, tk, tv, bshd)),
      check,
      'row',
    );
    const ortWhole = await ortCell(ort, t, options, key('ort'), kvBytes, check, H, D, {
      length: Lk,
      queryLength: 1,
      q,
      k,
      v,
    });
    // ORT's KV-cache feed: the first Lk − 1 tokens as past_key/past_value (BNSH, [1, H, Lk − 1, D]),
    // the last one as key/value, present outputs declared.
    const P = Lk - 1;
    const last = (x: Float32Array) => x.slice(P * H * D);
    const ortPast = await ortCell(ort, t, options, key('ort past'), kvBytes, check, H, D, {
      length: 1,
      queryLength: 1,
      q,
      k: last(k),
      v: last(v),
      past: { length: P, k: rowsOf(data.k, H, Lk, D, P), v: rowsOf(data.v, H, Lk, D, P) },
    });
    return {
      H,
      Lk,
      D,
      kvBytes,
      plan: planText(plan),
      ort: withRate(ortWhole.cell, kvBytes),
      ortPast: withRate(ortPast.cell, kvBytes),
      flash: withRate(flash, kvBytes),
      naive: withRate(naive, kvBytes),
      ortPrograms: ortWhole.programs,
      ortPastPrograms: ortPast.programs,
    };
  } finally {
    [tq, tk, tv].forEach((x) => x.destroy());
  }
}

async function prefillRow(attn: AttentionContext, t: Timer, options: DecodeOptions, L: number): Promise<PrefillRow> {
  const { B, Hq, Hkv, D } = DECODE;
  const data = gqaData(Hq, Hkv, L, L, D, 31);
  const denseFlops = 4 * B * Hq * L * L * D;
  const unmaskedFlops = (4 * B * Hq * D * L * (L + 1)) / 2;
  const plan = planSdpa({ B, Hq, Hkv, Lq: L, Lk: L, D, Dv: D }, attn.device.limits);
  const rows = sampleRows(L);
  const expected = gqaReferenceRows(data, rows);
  const q = attn.tensor(data.q, [B, Hq, L, D]);
  const k = attn.tensor(data.k, [B, Hkv, L, D]);
  const v = attn.tensor(data.v, [B, Hkv, L, D]);
  try {
    const flash = await timeCell(
      t,
      'prefill',
      unmaskedFlops,
      options.prefillMaxRunS,
      () => libraryRunner(attn, () => attn.sdpa(q, k, v, { causal: true })),
      (got) => worstError(got, expected, { heads: Hq, length: L, headDim: D }),
      `${rows.length} rows`,
    );
    return {
      L,
      denseFlops,
      unmaskedFlops,
      plan: planText(plan),
      flash: flash.ms === undefined ? flash : { ...flash, gflops: unmaskedFlops / (flash.ms * 1e6) },
    };
  } finally {
    [q, k, v].forEach((x) => x.destroy());
  }
}

/**
 * Whether ORT's KV-cache feed (past_key/past_value [1, H, Lk − 1, D] BNSH and one new token as
 * key/value) is right without the present outputs in the model, at the first ORT shape: one
 * checked run, not timed (ORT 1.30 on WebGPU: it is not).
 */
async function ortPastCheck(ort: OrtWebGpu): Promise<string> {
  const { H, Lk, D } = ORT_SHAPES[0];
  try {
    const worst = await ort.checkPastFeed(H, Lk, D, false);
    const verdict =
      worst <= 1
        ? `ok (err/tol ${worst.toFixed(2)})`
        : `WRONG (err/tol ${worst.toExponential(2)}): ORT then attends without the past`;
    return `ORT's past + 1 new feed with present_key/present_value left out of the model (${H}·1·${Lk}·${D}, checked once, not timed): ${verdict}; the timed feed declares them.`;
  } catch (error) {
    return `ORT's KV-cache feed (past_key/past_value + 1 new token) failed: ${errorText(error)}`;
  }
}

/** Runs the three decode tables. */
export async function benchDecode(
  attn: AttentionContext,
  ort: OrtWebGpu | null,
  options: DecodeOptions,
  log: (line: string) => void,
): Promise<DecodeResults> {
  const t: Timer = { policy: options.policy, msPerUnit: new Map() };
  const capped: string[] = [];
  const inTime = (what: string) => performance.now() < options.deadline || (capped.push(what), false);
  const f16 = await f16Support(attn);
  const decode: DecodeRow[] = [];
  for (const Lk of options.lengths.filter((Lk) => inTime(`decode Lk=${Lk}`))) {
    decode.push(await decodeRow(attn, t, options, Lk, f16));
    log(`  decode Lk=${Lk} done`);
  }
  const rows: OrtDecodeRow[] = [];
  for (const shape of options.ortTable ? ORT_SHAPES : []) {
    if (!inTime(`decode vs ORT ${shape.H}·1·${shape.Lk}·${shape.D}`)) continue;
    rows.push(await ortRow(attn, ort, t, options, shape));
    log(`  decode vs ORT ${shape.H}·1·${shape.Lk}·${shape.D} done`);
  }
  const ortNotes = ort && options.ortTable ? [await ortPastCheck(ort)] : [];
  const prefill: PrefillRow[] = [];
  for (const L of options.prefillLengths.filter((L) => inTime(`prefill L=${L}`))) {
    prefill.push(await prefillRow(attn, t, options, L));
    log(`  prefill L=${L} done`);
  }
  const ortSubgroups = !ort
    ? 'not loaded'
    : ort.hideSubgroups
      ? "the adapter's subgroups hidden from ORT (its subgroup path failed the check above)"
      : "with the adapter's subgroups (they passed the check above)";
  const ortTableNote = options.ortTable ? undefined : 'left out (--no-ort)';
  return { f16: f16 || 'available', ortSubgroups, decode, ort: rows, ortNotes, prefill, capped, ortTableNote };
}

const fmtMs = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const fmtRate = (g: number) => (g >= 10 ? g.toFixed(1) : g >= 1 ? g.toFixed(2) : g.toFixed(3));

/** "ms (×runs) · rate", a prediction, or why there is none. */
function cellText(c: DecodeCell | undefined, rate: 'gbps' | 'gflops'): string {
  if (!c) return '—';
  if (c.ms === undefined)
    return c.predictedMs !== undefined ? `~${fmtMs(c.predictedMs)} predicted` : `— (${c.skipped ?? 'not run'})`;
  const wrong = c.error !== undefined && !(c.error <= 1) ? ' **WRONG**' : '';
  const value = c[rate];
  return `${fmtMs(c.ms)} (×${c.runs}${c.checkedRunOnly ? '†' : ''})${value !== undefined ? ` · ${fmtRate(value)}` : ''}${wrong}`;
}

/** b's ms ÷ a's ms: how many times faster a is. */
function ratio(a: DecodeCell | undefined, b: DecodeCell | undefined): string {
  return a?.ms !== undefined && b?.ms !== undefined ? `${(b.ms / a.ms).toFixed(2)}×` : '—';
}

function checks(named: Array<[string, DecodeCell | undefined]>): string {
  const parts = named
    .filter(([, c]) => c?.error !== undefined)
    .map(([name, c]) => `${name} ${c!.error! <= 1 ? 'ok' : 'FAIL'} ${c!.error!.toFixed(2)}`);
  return parts.length ? parts.join(', ') : '—';
}

/** How noisy the timed runs were: max ÷ min over each cell's samples (cells of 2 or more runs). */
function spreadNote(r: DecodeResults): string {
  const cells: ReadonlyArray<readonly [string, DecodeCell | undefined]> = [
    ...r.decode.flatMap((row) => DECODE_VARIANTS.map((v) => [`${v.key} Lk=${row.Lk}`, row.cells[v.key]] as const)),
    ...r.ort.flatMap((row) =>
      (['ort', 'ortPast', 'flash', 'naive'] as const).map((k) => [`${k} ${row.H}·${row.Lk}·${row.D}`, row[k]] as const),
    ),
    ...r.prefill.map((row) => [`prefill L=${row.L}`, row.flash] as const),
  ];
  const spreads = cells
    .filter(([, c]) => (c?.samplesMs?.length ?? 0) >= 2)
    .map(([name, c]) => [name, Math.max(...c!.samplesMs!) / Math.min(...c!.samplesMs!)] as const)
    .sort((a, b) => a[1] - b[1]);
  if (!spreads.length) return 'Spread of the timed runs: no cell had two runs.';
  const mid = spreads[spreads.length >> 1];
  const worst = spreads[spreads.length - 1];
  return `Noise: slowest ÷ fastest of a cell's timed runs, over ${spreads.length} cells: median ${mid[1].toFixed(2)}, worst ${worst[1].toFixed(2)} (${worst[0]}).`;
}

/** The markdown tables of the decode part, with the notes that say how to read them. */
export function decodeTables(r: DecodeResults): string {
  const { B, Hq, Hkv, D } = DECODE;
  // Columns come from DECODE_VARIANTS: f16 is one more variant (its bytes are half).
  const variants = DECODE_VARIANTS.filter((v) => v.dtype === 'f32' || r.decode.some((row) => row.cells[v.key]?.ms));
  const head = [
    'Lk',
    'K/V MB (f32)',
    'flash plan (blockQ×tileKv, splits, workgroups × invocations)',
    ...variants.map((v) => `${v.label} ms · GB/s`),
    'split-K vs 1 split',
    'flash vs naive',
    'kvCache views ÷ flash',
    'check err/tol',
  ];
  const d = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const row of r.decode) {
    const c = row.cells;
    d.push(
      `| ${[
        row.Lk,
        (row.kvBytes / 1e6).toFixed(1),
        row.plan,
        ...variants.map((v) => cellText(c[v.key], 'gbps')),
        ratio(c.flash, c.oneSplit),
        ratio(c.flash, c.naive),
        c.kvCache?.ms !== undefined && c.flash?.ms !== undefined ? `${(c.kvCache.ms / c.flash.ms).toFixed(2)}` : '—',
        checks(variants.map((v) => [v.key, c[v.key]])),
      ].join(' | ')} |`,
    );
  }
  const oHead = [
    'B·H·Lq·Lk·D',
    'K/V MB',
    'flash plan',
    'ORT (K/V as key/value) ms · GB/s',
    'ORT (past + 1 new) ms · GB/s',
    'flash ms · GB/s',
    'naive ms · GB/s',
    'ORT / flash (K/V, past)',
    'naive / flash',
    'check err/tol',
  ];
  const o = [`| ${oHead.join(' | ')} |`, `|${oHead.map(() => '---').join('|')}|`];
  for (const row of r.ort) {
    o.push(
      `| ${[
        `1·${row.H}·1·${row.Lk}·${row.D}`,
        (row.kvBytes / 1e6).toFixed(1),
        row.plan,
        cellText(row.ort, 'gbps'),
        cellText(row.ortPast, 'gbps'),
        cellText(row.flash, 'gbps'),
        cellText(row.naive, 'gbps'),
        `${ratio(row.flash, row.ort)}, ${ratio(row.flash, row.ortPast)}`,
        ratio(row.flash, row.naive),
        checks([
          ['ORT', row.ort],
          ['ORT past', row.ortPast],
          ['flash', row.flash],
          ['naive', row.naive],
        ]),
      ].join(' | ')} |`,
    );
  }
  const pHead = [
    'L',
    'GFLOP unmasked (dense)',
    'flash plan',
    'flash ms',
    'GFLOP/s unmasked',
    'GFLOP/s dense count',
    'check err/tol',
  ];
  const p = [`| ${pHead.join(' | ')} |`, `|${pHead.map(() => '---').join('|')}|`];
  for (const row of r.prefill) {
    const ms = row.flash.ms;
    p.push(
      `| ${[
        row.L,
        `${(row.unmaskedFlops / 1e9).toFixed(1)} (${(row.denseFlops / 1e9).toFixed(1)})`,
        row.plan,
        cellText({ ...row.flash, gflops: undefined }, 'gflops'),
        ms !== undefined ? fmtRate(row.unmaskedFlops / (ms * 1e6)) : '—',
        ms !== undefined ? fmtRate(row.denseFlops / (ms * 1e6)) : '—',
        checks([['flash', row.flash]]) + (row.flash.checked ? ` (${row.flash.checked})` : ''),
      ].join(' | ')} |`,
    );
  }
  const names = (list: string[]) => list.join(', ') || 'none new';
  const programs = r.ort.map(
    (row) => `${row.H}·${row.Lk}·${row.D}: ${names(row.ortPrograms)} (past + 1 new: ${names(row.ortPastPrograms)})`,
  );
  const ortSection = r.ortTableNote
    ? [`### Decode against onnxruntime-web: ${r.ortTableNote}`, '']
    : [
        '### Decode against onnxruntime-web (MultiHeadAttention, WebGPU EP), Lq=1, no mask',
        '',
        ...o,
        '',
        "- The same data to all: q [1, 1, H·D] and the Lk keys and values. flash and naive: `attn.sdpa` / `attn.sdpaNaive` on q [1, 1, H, D], k and v [1, Lk, H, D] with `layout: 'bshd'`, no mask (causal lower-right is the same for one query).",
        `- ORT: a one-node com.microsoft MultiHeadAttention (num_heads H, scale 1/√D, unidirectional 0, no bias, no mask, no attention_bias), one session per shape and feed with symbolic lengths, inputs and output in GPU buffers on the same adapter, ${r.ortSubgroups}. "K/V as key/value": query [1, 1, H·D], key and value [1, Lk, H·D] (the same bytes as flash), no past, output only. "past + 1 new" (how an exported decoder feeds it): past_key and past_value [1, H, Lk − 1, D] (BNSH), key and value [1, 1, H·D] of the newest token, outputs output, present_key and present_value [1, H, Lk, D] (freed after each run).`,
        `- ORT programs run (its shader-module labels): ${programs.join('; ')}. Either way MultiHeadAttention first copies K and V into its present (BNSH) buffers (CopyKVCache: all Lk tokens, or the past and the new one), then runs its split-K decode, so ORT's time includes a copy of the whole K/V on every call; flash reads K and V where they are.`,
        ...r.ortNotes.map((n) => `- ${n}`),
        '',
      ];
  return [
    `### Decode, B=${B}, Hq=${Hq}, Hkv=${Hkv}, D=${D}, Lq=1, causal lower-right (ms per token · GB/s of K/V)`,
    '',
    ...d,
    '',
    '- ms per token: one attention call (one layer) for one new token, median wall clock (call → onSubmittedWorkDone) of ×N runs after warm-up; ×1†: a long checked first run is the only sample.',
    `- GB/s = bytes of K and V (2·B·Hkv·Lk·D·4 for f32, ·2 for f16) ÷ time: what a decode step must read at least. f16 storage: ${r.f16}.`,
    '- "1 split": the planned tile with `kvSplits: 1` (one workgroup per kv head walks every key). "kvCache views": `attn.sdpa` on `cache.keys` / `cache.values` of an `attn.kvCache` holding Lk tokens at capacity 2·Lk (strided views), the same call otherwise.',
    '- "X vs Y" = Y ms ÷ X ms (above 1: X faster). check: worst |gpu − ref| / (2e-5 + 1e-4·|ref|) against the float64 reference on the query row (f16: on the f16-rounded inputs).',
    '',
    ...ortSection,
    `### Prefill, B=${B}, Hq=${Hq}, Hkv=${Hkv}, D=${D}, causal, flash as planned`,
    '',
    ...p,
    '',
    '- GFLOP/s unmasked: 4·B·Hq·D·L(L+1)/2 (the pairs a causal row attends) ÷ time; dense count: 4·B·Hq·L²·D ÷ time (twice as many FLOPs, for comparison with figures that count the full square).',
    '- The first length also compiles the pipeline; a later one whose one run would pass --prefill-max-run-s (predicted from the earlier length) is printed as a prediction.',
    '',
    spreadNote(r),
  ].join('\n');
}
