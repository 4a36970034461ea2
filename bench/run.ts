/**
 * `npm run bench [-- --quick] [-- --json FILE]`: flash (attn.sdpa) vs the naive materialised
 * kernels (attn.sdpaNaive) vs onnxruntime-web's WebGPU MultiHeadAttention vs the float64 CPU
 * reference, B=1, H=8, D=64, L ∈ {256, 1024, 4096}, causal and not, all in one run on one machine.
 * Loaded by bench/launch.mjs (Vite's SSR loader: the library imports shaders with `?raw`), or
 * bundled by `npm run bench:pack` (bench/pack.mjs) into dist-bench/ to run on another machine.
 *
 * Options: --quick (L ∈ {256, 1024}, fewer runs), --json FILE, --lengths 256,1024, --runs N,
 * --cpu-max L (largest L the CPU reference is timed at; default 1024), --max-run-s S (skip a cell
 * whose one run is predicted, from the previous length, to take longer), --no-ort,
 * --only sdpa|local|mha|decode|scores|vision (one part: full attention vs naive/ORT/CPU, the local-attention
 * tables of bench/local.ts, the multi-head-attention layers of bench/mha.ts, decoding and
 * prefill at Hq=32, Hkv=8, D=128 of bench/decode.ts, or the additive and multiplicative score
 * functions against flash of bench/score-functions.ts, --score-lengths 512, or channel, spatial and CBAM
 * attention and attention rollout of bench/vision.ts (vision), or linear attention and
 * Linformer against flash of bench/long-inputs.ts, --long-lengths 1024,16384 (--quick: 1024,4096),
 * --long-rank 256, or graph attention on a random graph of bench/graph.ts, --graph-edges 100000; or the sdpa
 * variants of bench/variants.ts (sigmoid, top-k, block-sparse), --variant-lengths 1024; default all),
 * --window-lengths 1024,4096,16384, --maps 64,128, --mha-lengths 512,1024 (BERT L, GQA L; --quick:
 * 128,256), --mha-ref-max-macs N (largest whole-layer float64 reference; past it, sampled rows),
 * --decode-lengths 1024,8192,32768 (Lk of the decode table; --quick: 1024,8192),
 * --prefill-lengths 512,4096 (causal GQA prefill; the first also compiles; --quick: 128,256),
 * --prefill-max-run-s S (as --max-run-s, for the prefill table; default 600),
 * --time-cap-s S (start no new length or part after S seconds; the rest is reported as skipped),
 * --peak-gflops N, --peak-gbps N (the device's f32 peak and memory bandwidth, which WebGPU does not
 * report; also WEBGPU_ATTENTION_PEAK_GFLOPS / _GBPS; else bench/peak.ts's table of NVIDIA GPUs),
 * --native-ceiling FILE / --native-ceiling-note WHY (PyTorch's figures from bench/torch-sdpa.py, as
 * dist-bench/run.sh passes them), --info (print the adapter, its limits and features, and stop).
 */
import { writeFileSync } from 'node:fs';
import { createAttention, reference, type AttentionContext, type GpuTensor } from '../src/index';
import { nodeGpu } from '../test/helpers/node-gpu';
import {
  makeInputs,
  referenceRows,
  rowsOfFull,
  sampleRows,
  swapHeadsAndRows,
  worstError,
  type ExpectedRows,
  type Inputs,
} from './check';
import { describeEnvironment, planLines } from './environment';
import { benchFigures, type BenchResults } from './figures';
import { loadNative, nativeTable } from './native';
import { devicePeak, peakLine, peakTable } from './peak';
import { checkOrt, OrtSessions, OrtWebGpu, type OrtRun, type OrtStatus } from './ort';
import { attendedPairs, markdownTable, tableNotes, type Cell, type Row } from './report';
import { benchLocal, localTables } from './local';
import { benchMha, mhaTable } from './mha';
import { benchDecode, decodeTables } from './decode';
import { benchScoreFunctions, scoreTable, scoreWrong, type ScoreRow } from './score-functions';
import { benchVision, visionTable, visionWrong, type VisionRow } from './vision';
import { benchLong, longTable, longWrong, type LongRow } from './long-inputs';
import { benchGraph, graphTable, graphWrong, type GraphRow } from './graph';
import { benchVariants, variantTable, variantsWrong, type VariantRow } from './variants';
import { timeOnce, timeRuns } from './timing';
import { parseArgs, type Options } from './options';

const B = 1,
  H = 8,
  D = 64;

const errorText = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 200);

interface LengthRun {
  attn: AttentionContext;
  ort: OrtSessions | null;
  options: Options;
  inputs: Inputs;
  tensors: { q: GpuTensor; k: GpuTensor; v: GpuTensor };
  /** What the checks cover at this length: 'full' or 'N rows'. */
  checked: string;
  /** Last measured ms per FLOP of each implementation (causal apart), to predict the next length. */
  msPerFlop: Map<string, number>;
}

/**
 * Times one GPU implementation: a checked first run (compiles and warms up), then `policy`.
 * `run` submits once and resolves when the GPU has finished. A first run longer than half the
 * cell's budget is the only sample (its readback is noise at that length), unless it was this
 * kernel's first run at all, which includes the pipeline compile.
 */
async function timeGpu(
  c: LengthRun,
  key: string,
  flops: number,
  expected: ExpectedRows,
  checkRun: () => Promise<ArrayLike<number>>,
  run: () => Promise<void>,
): Promise<Cell> {
  const predictedS = ((c.msPerFlop.get(key) ?? 0) * flops) / 1000;
  if (predictedS > c.options.maxRunS)
    return { skipped: `one run predicted to take ${predictedS.toFixed(0)} s > --max-run-s ${c.options.maxRunS}` };
  const t0 = performance.now();
  const got = await checkRun();
  const firstMs = performance.now() - t0;
  const error = worstError(got, expected, c.inputs);
  const policy = c.options.policy;
  // The first run of a kernel also compiles its pipelines: it is a sample only once this kernel
  // has run at a smaller length, never at the first one.
  const compiledBefore = c.msPerFlop.has(key);
  const t =
    compiledBefore && firstMs > (policy.budgetS * 1000) / 2
      ? { medianMs: firstMs, runs: 1, checkedRunOnly: true }
      : { ...(await timeRuns(run, { ...policy, warmup: firstMs < 2000 ? policy.warmup : 0 })), checkedRunOnly: false };
  c.msPerFlop.set(key, t.medianMs / flops);
  return {
    ms: t.medianMs,
    gflops: flops / (t.medianMs * 1e6),
    runs: t.runs,
    checkedRunOnly: t.checkedRunOnly,
    error,
    checked: c.checked,
  };
}

/** Flash or naive: both are library calls that return a GpuTensor. */
async function libraryCell(
  c: LengthRun,
  key: string,
  call: () => GpuTensor,
  flops: number,
  expected: ExpectedRows,
): Promise<Cell> {
  const device = c.attn.device;
  const checkRun = async () => {
    const o = call();
    await o.ready;
    const data = await o.read();
    o.destroy();
    return data;
  };
  try {
    return await timeGpu(c, key, flops, expected, checkRun, async () => {
      call().destroy();
      await device.queue.onSubmittedWorkDone();
    });
  } catch (error) {
    // The naive path throws an AttentionError, before it enqueues anything, when its score matrix cannot exist here.
    return { skipped: errorText(error) };
  }
}

async function ortCell(c: LengthRun, causal: boolean, flops: number, expected: ExpectedRows): Promise<Cell> {
  if (!c.ort) return { skipped: 'ORT did not load (see above)' };
  const { heads, length, headDim } = c.inputs;
  const bshd = (t: Float32Array) => swapHeadsAndRows(t, heads, length, headDim);
  let run: OrtRun | undefined;
  try {
    const session = await c.ort.session(causal);
    const r = session.bind({ length, q: bshd(c.inputs.q), k: bshd(c.inputs.k), v: bshd(c.inputs.v) });
    run = r;
    const checkRun = async () => swapHeadsAndRows(await r.output(), length, heads, headDim);
    return await timeGpu(c, `ort ${causal}`, flops, expected, checkRun, () => r.run());
  } catch (error) {
    return { skipped: `ORT failed: ${errorText(error)}` };
  } finally {
    run?.release();
  }
}

/** The CPU reference, timed once where L ≤ cpuMax; its output is then the check for every GPU result. */
function cpuCell(c: LengthRun, causal: boolean, flops: number): { cell: Cell; expected: ExpectedRows } {
  const { length } = c.inputs;
  if (length > c.options.cpuMax) {
    const rows = sampleRows(length);
    c.checked = `${rows.length} rows`;
    return {
      cell: { skipped: `not timed past L=${c.options.cpuMax}` },
      expected: referenceRows(c.inputs, causal, rows),
    };
  }
  const shape = [B, H, length, D];
  const { result, ms } = timeOnce(() =>
    reference.sdpa({ data: c.inputs.q, shape }, { data: c.inputs.k, shape }, { data: c.inputs.v, shape }, { causal }),
  );
  c.checked = 'full';
  return { cell: { ms, gflops: flops / (ms * 1e6), runs: 1 }, expected: rowsOfFull(result.data, c.inputs) };
}

async function benchRow(c: LengthRun, causal: boolean): Promise<Row> {
  const L = c.inputs.length;
  const flops = 4 * B * H * D * attendedPairs(L, L, causal);
  const { cell: cpu, expected } = cpuCell(c, causal, flops);
  const { q, k, v } = c.tensors;
  const flash = await libraryCell(c, `flash ${causal}`, () => c.attn.sdpa(q, k, v, { causal }), flops, expected);
  const naive = await libraryCell(c, `naive ${causal}`, () => c.attn.sdpaNaive(q, k, v, { causal }), flops, expected);
  const ort = await ortCell(c, causal, flops, expected);
  return { B, H, L, D, causal, flops, flash, naive, ort, cpu };
}

async function loadOrt(
  gpu: GPU,
  wanted: boolean,
): Promise<{ ortWeb: OrtWebGpu | null; ort: OrtSessions | null; status: OrtStatus }> {
  if (!wanted)
    return {
      ortWeb: null,
      ort: null,
      status: { loaded: false, lines: ['ORT: not loaded (--no-ort, or --only local|mha)'] },
    };
  try {
    const ortWeb = await OrtWebGpu.load(gpu);
    const status = await checkOrt(ortWeb);
    return { ortWeb, ort: new OrtSessions(ortWeb, H, D), status };
  } catch (error) {
    const text = error instanceof Error ? `${error.message}` : String(error);
    return {
      ortWeb: null,
      ort: null,
      status: { loaded: false, lines: [`ORT: onnxruntime-web's WebGPU EP could not run here: ${text}`] },
    };
  }
}

async function benchLength(
  attn: AttentionContext,
  ort: OrtSessions | null,
  options: Options,
  L: number,
  msPerFlop: Map<string, number>,
): Promise<Row[]> {
  const inputs = makeInputs(H, L, D);
  const shape = [B, H, L, D];
  const tensors = { q: attn.tensor(inputs.q, shape), k: attn.tensor(inputs.k, shape), v: attn.tensor(inputs.v, shape) };
  const run: LengthRun = { attn, ort, options, inputs, tensors, checked: '', msPerFlop };
  const rows: Row[] = [];
  try {
    for (const causal of [false, true]) rows.push(await benchRow(run, causal));
  } finally {
    Object.values(tensors).forEach((t) => t.destroy());
  }
  return rows;
}

/** Whether any checked cell of the run failed its check. */
function anyWrong({ rows, local, mha, decode }: BenchResults): boolean {
  const localCells = local
    ? [...local.window.flatMap((r) => [r.window, r.full]), ...local.maps.flatMap((r) => [r.local, r.masked])]
    : [];
  const decodeCells = decode
    ? [
        ...decode.decode.flatMap((r) => Object.values(r.cells)),
        ...decode.ort.flatMap((r) => [r.flash, r.naive]),
        ...decode.prefill.map((r) => r.flash),
      ]
    : [];
  return [
    ...rows.flatMap((r) => [r.flash, r.naive]),
    ...localCells,
    ...(mha ?? []).map((r) => r.forward),
    ...decodeCells,
  ].some((cell) => cell.error !== undefined && !(cell.error <= 1));
}

/**
 * Runs the parts asked for. With --time-cap-s, no length or part starts after the cap: what did
 * not run is listed in `capped`. Decode (with prefill) and the layers run first, full attention and
 * local attention after them (the packed bench is for the first two); the report keeps its order.
 */
async function runParts(
  attn: AttentionContext,
  gpu: GPU,
  options: Options,
  seconds: () => number,
): Promise<
  BenchResults & {
    ortStatus: OrtStatus;
    ortLoaded: boolean;
    capped: string[];
    scores: ScoreRow[] | null;
    vision: VisionRow[] | null;
    long: LongRow[] | null;
    graph: GraphRow[] | null;
    variants: VariantRow[] | null;
  }
> {
  const capped: string[] = [];
  const inTime = (what: string) => seconds() < options.timeCapS || (capped.push(what), false);
  const log = (line: string) => console.error(`${line} (${seconds().toFixed(0)} s)`);
  const wantOrt = options.ort && (options.parts.sdpa || options.parts.decode);
  const { ortWeb, ort, status: ortStatus } = await loadOrt(gpu, wantOrt);
  ortStatus.lines.forEach((line) => console.log(line));
  const deadline = performance.now() + (options.timeCapS - seconds()) * 1000;
  const decode =
    options.parts.decode && inTime('decode')
      ? await benchDecode(attn, ortWeb, { ...options.decode, deadline }, log)
      : null;
  if (decode) capped.push(...decode.capped);
  const mha = options.parts.mha && inTime('layers (mha)') ? await benchMha(attn, options.mha, log) : null;
  const rows: Row[] = [];
  const msPerFlop = new Map<string, number>();
  for (const L of options.parts.sdpa ? options.lengths : []) {
    if (!inTime(`sdpa L=${L}`)) continue;
    rows.push(...(await benchLength(attn, ort, options, L, msPerFlop)));
    log(`  L=${L} done`);
  }
  await ort?.release();
  const local = options.parts.local && inTime('local') ? await benchLocal(attn, options.local, log) : null;
  const scores = options.parts.scores && inTime('scores') ? await benchScoreFunctions(attn, options.scores, log) : null;
  const vision = options.parts.vision && inTime('vision') ? await benchVision(attn, options.vision, log) : null;
  const long = options.parts.long && inTime('long inputs') ? await benchLong(attn, options.long, log) : null;
  const graph = options.parts.graph && inTime('graph') ? await benchGraph(attn, options.graph, log) : null;
  const variants =
    options.parts.variants && inTime('variants') ? await benchVariants(attn, options.variants, log) : null;
  return {
    rows,
    local,
    mha,
    decode,
    ortStatus,
    ortLoaded: ort !== null,
    capped,
    scores,
    vision,
    long,
    graph,
    variants,
  };
}

export async function main(args: readonly string[]): Promise<number> {
  const options = parseArgs(args);
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  const gpu = await nodeGpu();
  const attn = await createAttention({ gpu });
  const plans = options.parts.sdpa && !options.info ? planLines(attn.device, options.lengths, H, D) : [];
  const { lines, info } = await describeEnvironment(attn, gpu);
  const peak = devicePeak(info, options.peak);
  const native = loadNative(options.native.file, options.native.note);
  const environment = [...lines, peakLine(peak), native.line, ...plans];
  environment.forEach((line) => console.log(line));
  if (options.info) {
    attn.destroy();
    return 0;
  }
  const results = await runParts(attn, gpu, options, seconds);
  const { rows, local, mha, decode, ortLoaded, capped } = results;
  console.log(`\n${options.quick ? 'Quick run (--quick)' : 'Full run'}: ${seconds().toFixed(0)} s in all.`);
  if (capped.length) console.log(`Not run, past --time-cap-s ${options.timeCapS}: ${capped.join(', ')}.`);
  console.log('');
  if (options.parts.sdpa) {
    console.log(markdownTable(rows, ortLoaded));
    console.log(
      `\n${tableNotes(options.policy.budgetS / 2, ortLoaded)
        .map((n) => `- ${n}`)
        .join('\n')}`,
    );
  }
  if (local) console.log(`\n${localTables(local)}`);
  if (mha) console.log(`\n${mhaTable(mha)}`);
  if (decode) console.log(`\n${decodeTables(decode)}`);
  if (results.scores) console.log(`\n${scoreTable(results.scores)}`);
  if (results.vision) console.log(`\n${visionTable(results.vision)}`);
  if (results.long) console.log(`\n${longTable(results.long, options.long.rank)}`);
  if (results.graph) console.log(`\n${graphTable(results.graph)}`);
  if (results.variants) console.log(`\n${variantTable(results.variants)}`);
  const figures = benchFigures(results);
  console.log(`\n${peakTable(figures, peak)}`);
  if (native.results) console.log(`\n${nativeTable(native.results, figures, peak)}`);
  if (options.json) {
    const { ortStatus: ort } = results;
    const json = { options, environment, peak, ort, rows, local, mha, decode, figures, native: native.results };
    writeFileSync(options.json, `${JSON.stringify(json, null, 2)}\n`);
    console.log(`\nJSON written to ${options.json}`);
  }
  attn.destroy();
  const wrong =
    anyWrong(results) ||
    (results.scores && scoreWrong(results.scores)) ||
    (results.vision && visionWrong(results.vision));
  const failed = [results.long && longWrong(results.long), results.graph && graphWrong(results.graph)];
  failed.push(results.variants && variantsWrong(results.variants));
  return wrong || failed.some(Boolean) ? 1 : 0;
}
