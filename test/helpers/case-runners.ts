/**
 * Runs the shared case tables (test/cases.ts, test/local-cases.ts, test/mha-cases.ts,
 * test/linear-cases.ts) through a library build on whatever WebGPU the caller has, and compares
 * with the float64 reference. Engine-neutral (no DOM, no vitest): the browser ring's page and the
 * wgpu ring's Deno runner both use it, so both run the same cases in the same way.
 * Failures are results, never throws.
 *
 * @example
 * const lib = await import('/src/index.ts');
 * const attn = await lib.createAttention();
 * for (const c of sdpaRunnables()) console.log(c.name, (await c.run(lib, attn)).ok);
 */
import { CASES, caseData, caseOptions, type SdpaCase } from '../cases';
import {
  bytesAt,
  linearCaseInputs,
  linearDtype,
  linearExpected,
  LINEAR_CASES,
  type Host,
  type LinearCase,
} from '../linear-cases';
import { caseInputs, localCaseOptions, localExpected, LOCAL_CASES, type LocalCase } from '../local-cases';
import { mhaCaseInputs, mhaExpected, MHA_CASES, type MhaCase } from '../mha-cases';
import { reference } from '../../src/index';
import type { HostResult, HostTensor } from '../../src/contract/types';
import { compareArrays } from './compare';

export type Lib = typeof import('../../src/index');
export type Attention = Awaited<ReturnType<Lib['createAttention']>>;
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

/** What a runnable returns; the table runner adds the library and the time. */
export type Outcome = Omit<CaseResult, 'ms' | 'lib'>;

/** A named case and how to run it. */
export interface Runnable {
  name: string;
  run(lib: Lib, attn: Attention): Promise<Outcome>;
}

export interface Comparison {
  maxErr: number;
  failure?: string;
}

/** The Node ring's rule (test/helpers/compare.ts): |got − want| ≤ 2e-5 + 1e-4·|want|, −∞ exact. */
export function compare(what: string, got: Float32Array, want: ArrayLike<number>): Comparison {
  const r = compareArrays(got, want);
  return { maxErr: r.maxError, failure: r.ok ? undefined : `${what}: ${r.message}` };
}

/** A host tensor as an f32 tensor, or as f16 (its data already holds f16 values: stored exactly). */
function upload(attn: Attention, t: HostTensor, dtype: 'f32' | 'f16' = 'f32'): Tensor {
  return attn.tensor(Float32Array.from(t.data as ArrayLike<number>), [...t.shape], { dtype });
}

/** A host tensor on the GPU: Uint8Array data as a boolean GpuMask, else a float tensor. */
function uploadAny(attn: Attention, t: HostTensor, dtype: 'f32' | 'f16' = 'f32') {
  return t.data instanceof Uint8Array ? attn.mask(t.data, [...t.shape]) : upload(attn, t, dtype);
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
  comparisons.push(compare(what, await t.read(), want.data));
}

export function summarise(name: string, comparisons: Comparison[], phases: CaseResult['phases']): Outcome {
  const maxErr = Math.max(0, ...comparisons.map((x) => x.maxErr));
  const failures = comparisons.flatMap((x) => (x.failure ? [x.failure] : []));
  return failures.length
    ? { name, ok: false, maxErr, message: failures.join('; '), phases }
    : { name, ok: true, maxErr, phases };
}

function describeError(lib: Lib, e: unknown): string {
  return e instanceof lib.AttentionError || e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Runs `body` with an `own` that collects what to destroy afterwards (in reverse), failures as results. */
export async function guarded(
  lib: Lib,
  name: string,
  body: (own: <T extends { destroy(): void }>(t: T) => T) => Promise<Outcome>,
) {
  const owned: Array<{ destroy(): void }> = [];
  const own = <T extends { destroy(): void }>(t: T): T => {
    owned.push(t);
    return t;
  };
  try {
    return await body(own);
  } catch (e) {
    return { name, ok: false, maxErr: Infinity, message: `threw: ${describeError(lib, e)}` };
  } finally {
    for (const t of owned.reverse()) t.destroy();
  }
}

/** One sdpa case through flash and naive (with weights); `phase` names the step in progress. */
async function runSdpaCase(lib: Lib, attn: Attention, c: SdpaCase): Promise<Outcome> {
  const data = caseData(c);
  const options = c.returnLse ? { ...caseOptions(c), returnLse: true } : caseOptions(c);
  const marks = [performance.now()];
  let phase = 'reference';
  const outcome = await guarded(lib, c.name, async (own) => {
    const ref = reference.sdpa(data.q, data.k, data.v, { ...options, mask: data.mask, returnWeights: true });
    const { dtypes } = data;
    const [q, k, v] = [data.q, data.k, data.v].map((t, i) => own(upload(attn, t, [dtypes.q, dtypes.k, dtypes.v][i])));
    const mask = data.mask && own(uploadAny(attn, data.mask, dtypes.mask));
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
    const [reference_, flash_, naive_] = [1, 2, 3].map((i) => marks[i] - marks[i - 1]);
    return summarise(c.name, comparisons, { reference: reference_, flash: flash_, naive: naive_ });
  });
  if (outcome.ok || !outcome.message?.startsWith('threw: ')) return outcome;
  const since = (performance.now() - marks[marks.length - 1]).toFixed(0);
  return { ...outcome, message: `${phase} threw after ${since} ms: ${outcome.message.slice('threw: '.length)}` };
}

/** One neighbourhood case (test/local-cases.ts) through neighborhood2d / neighborhood1d. */
function runLocalCase(lib: Lib, attn: Attention, c: LocalCase): Promise<Outcome> {
  return guarded(lib, c.name, async (own) => {
    const inputs = caseInputs(c);
    const want = localExpected(c, inputs);
    const dtype = c.f16 ? 'f16' : 'f32';
    const [q, k, v] = [inputs.q, inputs.k, inputs.v].map((t) => own(upload(attn, t, dtype)));
    const rpb = inputs.rpb && own(upload(attn, inputs.rpb, dtype));
    const run = c.rank === 1 ? attn.neighborhood1d.bind(attn) : attn.neighborhood2d.bind(attn);
    const out = own(run(q, k, v, localCaseOptions(c, rpb)));
    const comparisons: Comparison[] = [];
    await check(comparisons, 'output', out, want);
    return summarise(c.name, comparisons, undefined);
  });
}

/** One multi-head-attention case (test/mha-cases.ts): one layer, one forward, output (and weights). */
function runMhaCase(lib: Lib, attn: Attention, c: MhaCase): Promise<Outcome> {
  return guarded(lib, c.name, async (own) => {
    const onGpu = (o: Record<string, unknown>) =>
      Object.fromEntries(
        Object.entries(o).map(([k, v]) => [
          k,
          v && typeof v === 'object' && 'data' in v ? own(uploadAny(attn, v as HostTensor, dtype)) : v,
        ]),
      );
    const inputs = mhaCaseInputs(c);
    const dtype = c.f16 ? 'f16' : 'f32';
    const want = mhaExpected(inputs);
    const weights = onGpu(inputs.config.weights as unknown as Record<string, unknown>);
    const layer = own(attn.multiHeadAttention({ ...inputs.config, weights } as never));
    const got = outputsOf(layer.forward(own(upload(attn, inputs.x, dtype)), onGpu(inputs.options) as never));
    [got.output, got.weights].forEach((t) => t && own(t));
    const comparisons: Comparison[] = [];
    await check(comparisons, 'output', got.output, want.output);
    await check(comparisons, 'weights', got.weights, want.weights);
    return summarise(c.name, comparisons, undefined);
  });
}

/** One GEMM case (test/linear-cases.ts); `offsets` cases wrap app buffers at those byte offsets. */
function runLinearCase(lib: Lib, attn: Attention, c: LinearCase): Promise<Outcome> {
  return guarded(lib, c.name, async (own) => {
    const inputs = linearCaseInputs(c);
    const put = (t: Host, i: number) => {
      const dtype = linearDtype(c, i);
      if (!c.offsets) return own(upload(attn, t, dtype));
      const { offset, bytes } = bytesAt(t, dtype, c.offsets[i]);
      const buffer = own(
        attn.device.createBuffer({
          size: offset + bytes.byteLength,
          usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
        }),
      );
      attn.device.queue.writeBuffer(buffer, offset, bytes);
      return own(attn.wrap(buffer, [...t.shape], { offset: c.offsets[i], dtype }));
    };
    const x = put(inputs.x, 0);
    const w = put(inputs.weight, 1);
    const b = inputs.bias && put(inputs.bias, 2);
    const y = own(attn.linear(x, w, b));
    const want = linearExpected(inputs);
    const comparisons: Comparison[] = [];
    if (y.shape.join() !== want.shape.join())
      comparisons.push({ maxErr: Infinity, failure: `shape [${y.shape}], expected [${want.shape}]` });
    await check(comparisons, 'output', y, want);
    return summarise(c.name, comparisons, undefined);
  });
}

/** The sdpa table (flash and naive), named as in test/cases.ts. */
export const sdpaRunnables = (): Runnable[] =>
  CASES.map((c) => ({ name: c.name, run: (lib, attn) => runSdpaCase(lib, attn, c) }));
/** The neighbourhood table, names prefixed `neighborhood `. */
export const localRunnables = (): Runnable[] =>
  LOCAL_CASES.map((c) => ({ name: `neighborhood ${c.name}`, run: (lib, attn) => runLocalCase(lib, attn, c) }));
/** The multi-head table, names prefixed `mha `. */
export const mhaRunnables = (): Runnable[] =>
  MHA_CASES.map((c) => ({ name: `mha ${c.name}`, run: (lib, attn) => runMhaCase(lib, attn, c) }));
/** The GEMM table, names prefixed `linear `. */
export const linearRunnables = (): Runnable[] =>
  LINEAR_CASES.map((c) => ({ name: `linear ${c.name}`, run: (lib, attn) => runLinearCase(lib, attn, c) }));
