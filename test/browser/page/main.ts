/**
 * Browser ring page: runs every case of test/cases.ts through the library on this browser's
 * WebGPU (flash `sdpa`, and `sdpaNaive` with weights), then the neighbourhood table
 * (test/local-cases.ts) and the multi-head-attention table (test/mha-cases.ts), compares with the
 * float64 reference, and exposes the outcome as `window.__results` for the puppeteer test.
 *
 * `?lib=URL` selects the library under test: `/src/index.ts` (default) or a built bundle; repeat
 * it to run the table once per library, on one shared device.
 * `?cases=a,b` (URL-encoded names) runs only those cases.
 * Failures are results, not console errors: a console error means the page itself misbehaved.
 */
import { CASES, caseData, caseOptions, type SdpaCase } from '../../cases';
import { compareArrays } from '../../helpers/compare';
import { caseInputs, localCaseOptions, localExpected, LOCAL_CASES, type LocalCase } from '../../local-cases';
import { mhaCaseInputs, mhaExpected, MHA_CASES, type MhaCase } from '../../mha-cases';
import { reference } from '../../../src/index';
import type { HostResult, HostTensor } from '../../../src/contract/types';

type Lib = typeof import('../../../src/index');
type Attention = Awaited<ReturnType<Lib['createAttention']>>;
type Tensor = ReturnType<Attention['tensor']>;

export interface CaseResult {
  name: string;
  ok: boolean;
  /** Largest |gpu − ref| over every compared output (flash and naive, output / lse / weights). */
  maxErr: number;
  message?: string;
  /** The library URL the case ran with. */
  lib: string;
  /** Wall-clock of the whole case, and of its parts (reference, flash incl. compile, naive incl. compile). */
  ms: number;
  phases?: { reference: number; flash: number; naive: number };
}

declare global {
  interface Window {
    __results: Promise<CaseResult[]>;
    /** Results so far and the case in progress, for a test that runs out of time. */
    __progress: { done: CaseResult[]; running: string | null; since: number };
    /** Which library URLs and adapter the run used, for the test's log. */
    __info?: { libs: string[]; adapter: string };
  }
}

interface Comparison {
  maxErr: number;
  failure?: string;
}

/** The Node ring's rule (test/helpers/compare.ts): |got − want| ≤ 2e-5 + 1e-4·|want|, −∞ exact. */
function compare(what: string, got: Float32Array, want: HostResult): Comparison {
  const r = compareArrays(got, want.data);
  return { maxErr: r.maxError, failure: r.ok ? undefined : `${what}: ${r.message}` };
}

function sdpaOptions(c: SdpaCase) {
  return c.returnLse ? { ...caseOptions(c), returnLse: true } : caseOptions(c);
}

function upload(attn: Attention, t: HostTensor): Tensor {
  return attn.tensor(Float32Array.from(t.data as ArrayLike<number>), [...t.shape]);
}

/** Either a tensor or `{ output, lse?, weights? }`, whatever the call returned. */
type Outputs = { output: Tensor; lse?: Tensor; weights?: Tensor };
function outputsOf(r: unknown): Outputs {
  return r && typeof r === 'object' && 'output' in r ? (r as Outputs) : { output: r as Tensor };
}

async function check(comparisons: Comparison[], what: string, t: Tensor | undefined, want: HostResult | undefined) {
  if (!want) return;
  if (!t) {
    comparisons.push({ maxErr: Infinity, failure: `${what}: not returned` });
    return;
  }
  comparisons.push(compare(what, await t.read(), want));
}

interface Uploaded {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  mask?: Tensor | ReturnType<Attention['mask']>;
}

function uploadCase(
  attn: Attention,
  data: ReturnType<typeof caseData>,
  own: <T extends { destroy(): void }>(t: T) => T,
): Uploaded {
  const q = own(upload(attn, data.q));
  const k = own(upload(attn, data.k));
  const v = own(upload(attn, data.v));
  if (data.mask === undefined) return { q, k, v };
  const mask =
    data.mask.data instanceof Uint8Array
      ? own(attn.mask(data.mask.data, [...data.mask.shape]))
      : own(upload(attn, data.mask));
  return { q, k, v, mask };
}

/** Runs one case through flash and naive; `phase` names the step in progress (for error messages). */
async function runCase(lib: Lib, attn: Attention, c: SdpaCase): Promise<Omit<CaseResult, 'ms' | 'lib'>> {
  const data = caseData(c);
  const options = sdpaOptions(c);
  const owned: Array<{ destroy(): void }> = [];
  const own = <T extends { destroy(): void }>(t: T): T => {
    owned.push(t);
    return t;
  };
  const marks = [performance.now()];
  let phase = 'reference';
  try {
    const ref = reference.sdpa(data.q, data.k, data.v, { ...options, mask: data.mask, returnWeights: true });
    const { q, k, v, mask } = uploadCase(attn, data, own);
    const gpuOptions = mask ? { ...options, mask } : options;
    const comparisons: Comparison[] = [];
    phase = 'flash';
    marks.push(performance.now());
    const flash = outputsOf(attn.sdpa(q, k, v, gpuOptions));
    [flash.output, flash.lse].forEach((t) => t && own(t));
    await check(comparisons, 'flash output', flash.output, ref.output);
    await check(comparisons, 'flash lse', flash.lse, ref.lse);
    phase = 'naive';
    marks.push(performance.now());
    const naive = outputsOf(attn.sdpaNaive(q, k, v, { ...gpuOptions, returnWeights: true }));
    [naive.output, naive.lse, naive.weights].forEach((t) => t && own(t));
    await check(comparisons, 'naive output', naive.output, ref.output);
    await check(comparisons, 'naive lse', naive.lse, ref.lse);
    await check(comparisons, 'naive weights', naive.weights, ref.weights);
    marks.push(performance.now());
    return summarise(c.name, comparisons, {
      reference: marks[1] - marks[0],
      flash: marks[2] - marks[1],
      naive: marks[3] - marks[2],
    });
  } catch (e) {
    const what = e instanceof lib.AttentionError || e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return {
      name: c.name,
      ok: false,
      maxErr: Infinity,
      message: `${phase} threw after ${(performance.now() - marks[marks.length - 1]).toFixed(0)} ms: ${what}`,
    };
  } finally {
    for (const t of owned) t.destroy();
  }
}

/** Runs one neighbourhood case (test/local-cases.ts) through neighborhood2d / neighborhood1d. */
async function runLocalCase(lib: Lib, attn: Attention, c: LocalCase): Promise<Omit<CaseResult, 'ms' | 'lib'>> {
  const owned: Array<{ destroy(): void }> = [];
  const own = <T extends { destroy(): void }>(t: T): T => {
    owned.push(t);
    return t;
  };
  try {
    const inputs = caseInputs(c);
    const want = localExpected(c, inputs);
    const [q, k, v] = [inputs.q, inputs.k, inputs.v].map((t) => own(upload(attn, t)));
    const rpb = inputs.rpb && own(upload(attn, inputs.rpb));
    const run = c.rank === 1 ? attn.neighborhood1d.bind(attn) : attn.neighborhood2d.bind(attn);
    const out = own(run(q, k, v, localCaseOptions(c, rpb)));
    const comparisons: Comparison[] = [];
    await check(comparisons, 'output', out, want);
    return summarise(c.name, comparisons, undefined);
  } catch (e) {
    const what = e instanceof lib.AttentionError || e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return { name: c.name, ok: false, maxErr: Infinity, message: `threw: ${what}` };
  } finally {
    for (const t of owned) t.destroy();
  }
}

/** A host tensor on the GPU: Uint8Array data as a boolean GpuMask, else a float tensor. */
function uploadAny(attn: Attention, t: HostTensor) {
  return t.data instanceof Uint8Array ? attn.mask(t.data, [...t.shape]) : upload(attn, t);
}

/** Runs one multi-head-attention case (test/mha-cases.ts): one layer, one forward, output (and weights). */
async function runMhaCase(lib: Lib, attn: Attention, c: MhaCase): Promise<Omit<CaseResult, 'ms' | 'lib'>> {
  const owned: Array<{ destroy(): void }> = [];
  const own = <T extends { destroy(): void }>(t: T): T => {
    owned.push(t);
    return t;
  };
  const onGpu = (o: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(o).map(([k, v]) => [
        k,
        v && typeof v === 'object' && 'data' in v ? own(uploadAny(attn, v as HostTensor)) : v,
      ]),
    );
  try {
    const inputs = mhaCaseInputs(c);
    const want = mhaExpected(inputs);
    const weights = onGpu(inputs.config.weights as unknown as Record<string, unknown>);
    const layer = own(attn.multiHeadAttention({ ...inputs.config, weights } as never));
    const got = outputsOf(layer.forward(own(upload(attn, inputs.x)), onGpu(inputs.options) as never));
    [got.output, got.weights].forEach((t) => t && own(t));
    const comparisons: Comparison[] = [];
    await check(comparisons, 'output', got.output, want.output);
    await check(comparisons, 'weights', got.weights, want.weights);
    return summarise(c.name, comparisons, undefined);
  } catch (e) {
    const what = e instanceof lib.AttentionError || e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return { name: c.name, ok: false, maxErr: Infinity, message: `threw: ${what}` };
  } finally {
    for (const t of owned.reverse()) t.destroy();
  }
}

function summarise(
  name: string,
  comparisons: Comparison[],
  phases: CaseResult['phases'],
): Omit<CaseResult, 'ms' | 'lib'> {
  const maxErr = Math.max(0, ...comparisons.map((x) => x.maxErr));
  const failures = comparisons.flatMap((x) => (x.failure ? [x.failure] : []));
  return failures.length
    ? { name, ok: false, maxErr, message: failures.join('; '), phases }
    : { name, ok: true, maxErr, phases };
}

function addRow(r: CaseResult): void {
  const tr = document.createElement('tr');
  const cells = [r.lib, r.name, r.ok ? 'ok' : 'FAIL', r.maxErr.toExponential(2), r.ms.toFixed(0), r.message ?? ''];
  for (const text of cells) {
    const td = document.createElement('td');
    td.textContent = text;
    tr.append(td);
  }
  tr.className = r.ok ? 'ok' : 'fail';
  document.getElementById('rows')!.append(tr);
}

/** A named case and how to run it. */
interface Runnable {
  name: string;
  run(lib: Lib, attn: Attention): Promise<Omit<CaseResult, 'ms' | 'lib'>>;
}

/** The sdpa table, then the neighbourhood and multi-head tables; `?cases=` keeps only the named ones. */
function selectedCases(params: URLSearchParams): Runnable[] {
  const all: Runnable[] = [
    ...CASES.map((c) => ({ name: c.name, run: (lib: Lib, attn: Attention) => runCase(lib, attn, c) })),
    ...LOCAL_CASES.map((c) => ({
      name: `neighborhood ${c.name}`,
      run: (lib: Lib, attn: Attention) => runLocalCase(lib, attn, c),
    })),
    ...MHA_CASES.map((c) => ({ name: `mha ${c.name}`, run: (lib: Lib, attn: Attention) => runMhaCase(lib, attn, c) })),
  ];
  const only = params.get('cases');
  if (!only) return all;
  const names = new Set(only.split(','));
  return all.filter((c) => names.has(c.name));
}

/** Turns errors no call reported (uncaptured WebGPU errors) into console errors, which fail the run. */
function watchDevice(device: GPUDevice): void {
  device.addEventListener('uncapturederror', (ev) => {
    console.error(`uncaptured WebGPU error: ${(ev as GPUUncapturedErrorEvent).error.message}`);
  });
}

async function runTable(lib: Lib, libUrl: string, attn: Attention, cases: Runnable[]): Promise<CaseResult[]> {
  const status = document.getElementById('status')!;
  const results: CaseResult[] = [];
  for (const [i, c] of cases.entries()) {
    status.textContent = `${libUrl}: running ${i + 1}/${cases.length}: ${c.name}`;
    const t0 = performance.now();
    window.__progress.running = `${c.name} (${libUrl})`;
    window.__progress.since = t0;
    const r = { ...(await c.run(lib, attn)), name: c.name, lib: libUrl, ms: performance.now() - t0 };
    results.push(r);
    window.__progress.done.push(r);
    window.__progress.running = null;
    addRow(r);
  }
  return results;
}

/**
 * Runs the table once per `lib`. Later libraries get the first one's device
 * (`createAttention({ device })`): the bundle is then tested without paying SwiftShader's
 * pipeline compiles twice, since Dawn shares identical pipelines within a device.
 */
async function run(): Promise<CaseResult[]> {
  const params = new URLSearchParams(location.search);
  const libUrls = params.getAll('lib');
  if (libUrls.length === 0) libUrls.push('/src/index.ts');
  if (!('gpu' in navigator)) throw new Error('navigator.gpu is missing: this browser has no WebGPU');
  const contexts: Attention[] = [];
  const results: CaseResult[] = [];
  try {
    for (const libUrl of libUrls) {
      const lib = (await import(/* @vite-ignore */ libUrl)) as Lib;
      const attn = contexts.length
        ? await lib.createAttention({ device: contexts[0].device })
        : await lib.createAttention();
      if (contexts.length === 0) {
        watchDevice(attn.device);
        const info = attn.device.adapterInfo;
        window.__info = { libs: libUrls, adapter: `${info.vendor} ${info.architecture} ${info.description}`.trim() };
      }
      contexts.push(attn);
      results.push(...(await runTable(lib, libUrl, attn, selectedCases(params))));
    }
  } finally {
    for (const attn of contexts.reverse()) attn.destroy();
  }
  const failed = results.filter((r) => !r.ok).length;
  document.getElementById('status')!.textContent =
    `done: ${results.length - failed} passed, ${failed} failed (adapter ${window.__info?.adapter})`;
  return results;
}

window.__progress = { done: [], running: null, since: performance.now() };
window.__results = run();
