/**
 * The page's one attention context: created once, shared by every section. Also what the page says
 * about the adapter, timing by wall clock, the "compiling" state, and errors against the reference.
 */
import { createAttention, type AttentionContext, type GpuTensor } from '../../src/index';
import type { Status } from './dom';

export type Attention = AttentionContext;

/** Either a context, or why there is none (what the "Without WebGPU" section shows). */
export type GpuState = { attn: Attention; reason: null } | { attn: null; reason: string; advice: string };

/** Requests an adapter and a device; never throws. Uncaptured device errors become console errors. */
export async function acquireGpu(): Promise<GpuState> {
  if (!('gpu' in navigator) || !navigator.gpu) {
    return window.isSecureContext
      ? {
          attn: null,
          reason: 'This browser does not offer WebGPU (navigator.gpu is missing).',
          advice:
            'Open the page in a browser with WebGPU: a recent Chrome or Edge on Windows, macOS or ChromeOS (on Linux, chrome://flags/#enable-unsafe-webgpu), Safari 26, or Firefox 141+ on Windows.',
        }
      : {
          attn: null,
          reason: 'WebGPU is only offered to secure pages (https:// or http://localhost), and this page is not one.',
          advice: 'Serve it over https, or open it as http://localhost.',
        };
  }
  try {
    const attn = await createAttention();
    attn.device.addEventListener('uncapturederror', (ev) => {
      console.error(`uncaptured WebGPU error: ${(ev as GPUUncapturedErrorEvent).error.message}`);
    });
    return { attn, reason: null };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return {
      attn: null,
      reason: /requestAdapter\(\) returned null/.test(why)
        ? 'This browser has WebGPU, but it offered no GPU adapter.'
        : `WebGPU is present but gave no usable device (${why}).`,
      advice:
        'WebGPU may be switched off here or the GPU blocklisted: see chrome://gpu (Chrome, Edge) or about:support (Firefox); on Linux, Chrome needs chrome://flags/#enable-unsafe-webgpu. Or try another browser or machine.',
    };
  }
}

/** What the page shows about the device: its name, the features the library uses, and its limits. */
export function describeAdapter(attn: Attention): {
  name: string;
  features: string[];
  limits: Array<[string, number]>;
} {
  const info = attn.device.adapterInfo;
  const name =
    [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' · ') || 'unnamed adapter';
  const l = attn.device.limits;
  return {
    name,
    features: [...attn.device.features].sort(),
    limits: [
      ['maxComputeWorkgroupStorageSize', l.maxComputeWorkgroupStorageSize],
      ['maxComputeInvocationsPerWorkgroup', l.maxComputeInvocationsPerWorkgroup],
      ['maxStorageBufferBindingSize', l.maxStorageBufferBindingSize],
      ['maxBufferSize', l.maxBufferSize],
      ['maxComputeWorkgroupsPerDimension', l.maxComputeWorkgroupsPerDimension],
      ...(info.subgroupMinSize ? ([['subgroup size', info.subgroupMinSize]] as Array<[string, number]>) : []),
    ],
  };
}

/** Anything an op returns: a tensor, or an object whose values are tensors (`{ output, weights }`). */
export type Outputs = GpuTensor | object;

const destroyable = (t: unknown): t is { destroy(): void } =>
  typeof t === 'object' && t !== null && typeof (t as { destroy?: unknown }).destroy === 'function';

export function destroyOutputs(o: Outputs): void {
  if (destroyable(o)) o.destroy();
  else for (const t of Object.values(o)) if (destroyable(t)) t.destroy();
}

/**
 * Runs `launch` once and reads with `read`; if that call made new pipelines, the status says
 * "compiling" until the result is back (compiles are asynchronous: the page keeps responding).
 */
export async function firstRun<T>(
  attn: Attention,
  status: Status,
  what: string,
  launch: () => Outputs,
  read: (o: Outputs) => Promise<T>,
): Promise<{ value: T; ms: number; compiled: number }> {
  const before = attn.stats.pipelines;
  const t0 = performance.now();
  const out = launch();
  const compiled = attn.stats.pipelines - before;
  if (compiled > 0) status.set('compiling', `compiling ${plural(compiled, 'pipeline')} for ${what}…`);
  else status.set('running', `running ${what}…`);
  try {
    const value = await read(out);
    return { value, ms: performance.now() - t0, compiled };
  } finally {
    destroyOutputs(out);
  }
}

/**
 * Wall-clock times from submit to `queue.onSubmittedWorkDone()` of `runs` launches (the first run,
 * which compiles, is done beforehand by the caller). Includes submission overhead, as the page says.
 */
export async function timeRuns(attn: Attention, launch: () => Outputs, runs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const out = launch();
    await attn.device.queue.onSubmittedWorkDone();
    times.push(performance.now() - t0);
    destroyOutputs(out);
  }
  return times;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The library's tolerance for f32 against float64 (docs/semantics.md §10): |got − want| ≤ 2e-5 + 1e-4·|want|. */
export function errorAgainst(got: ArrayLike<number>, want: ArrayLike<number>): { maxErr: number; ok: boolean } {
  let maxErr = got.length === want.length ? 0 : Infinity;
  let ok = got.length === want.length;
  for (let i = 0; i < got.length && i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    const e = Number.isNaN(d) ? (Number.isNaN(got[i]) && Number.isNaN(want[i]) ? 0 : Infinity) : d;
    maxErr = Math.max(maxErr, e);
    if (!(e <= 2e-5 + 1e-4 * Math.abs(want[i]))) ok = false;
  }
  return { maxErr, ok };
}

/** Uploads a host tensor. */
export function upload(attn: Attention, t: { data: Float32Array; shape: number[] }): GpuTensor {
  return attn.tensor(t.data, t.shape);
}

/** "1 pipeline", "3 pipelines". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
