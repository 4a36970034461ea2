/**
 * The demo page (`npm start`): one attention on this browser's GPU with the flash kernel,
 * checked against the float64 CPU reference, timed against the naive (materialising) kernel,
 * and one head's attention weights drawn as a heat map.
 */
import { createAttention, reference } from '../src/index';

type Attention = Awaited<ReturnType<typeof createAttention>>;
type Tensor = ReturnType<Attention['tensor']>;
type Outputs = { output: Tensor; lse?: Tensor; weights?: Tensor };

interface Params {
  B: number;
  H: number;
  L: number;
  D: number;
  causal: boolean;
}

const RUNS = 5;
const form = document.querySelector<HTMLFormElement>('#controls')!;
const result = document.querySelector<HTMLOutputElement>('#result')!;

function setResult(state: 'running' | 'done' | 'error' | 'unsupported', text: string, maxErr?: number): void {
  result.dataset.state = state;
  if (maxErr !== undefined) result.dataset.maxErr = String(maxErr);
  else delete result.dataset.maxErr;
  result.textContent = text;
}

function readParams(): Params {
  const data = new FormData(form);
  const int = (name: string) => Math.max(1, Math.floor(Number(data.get(name)) || 1));
  return { B: int('B'), H: int('H'), L: int('L'), D: int('D'), causal: data.get('causal') === 'on' };
}

/** Uniform values in [−1, 1) from a small deterministic generator, so runs are repeatable. */
function randomData(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Either a tensor or `{ output, lse?, weights? }`, whichever the call returned. */
function outputsOf(r: unknown): Outputs {
  return r !== null && typeof r === 'object' && 'output' in r ? (r as Outputs) : { output: r as Tensor };
}

function destroyAll(o: Outputs): void {
  for (const t of [o.output, o.lse, o.weights]) t?.destroy();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * Wall-clock from submit to `onSubmittedWorkDone`, after one warm-up run (which also compiles the
 * pipeline); `RUNS` timed runs.
 */
async function timeKernel(device: GPUDevice, launch: () => Outputs): Promise<number[]> {
  destroyAll(launch());
  await device.queue.onSubmittedWorkDone();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const out = launch();
    await device.queue.onSubmittedWorkDone();
    times.push(performance.now() - t0);
    destroyAll(out);
  }
  return times;
}

/** 4·B·H·pairs·D, where pairs counts only the query–key pairs the causal mask keeps. */
function flopCount(p: Params): number {
  const pairs = p.causal ? (p.L * (p.L + 1)) / 2 : p.L * p.L;
  return 4 * p.B * p.H * pairs * p.D;
}

function maxAbsError(got: Float32Array, want: Float64Array): number {
  let max = 0;
  for (let i = 0; i < got.length; i++)
    max = Math.max(max, Number.isFinite(got[i]) ? Math.abs(got[i] - want[i]) : Infinity);
  return max;
}

function showTimings(p: Params, rows: Array<[string, number[]]>): void {
  const table = document.querySelector<HTMLTableElement>('#timings')!;
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const [name, times] of rows) {
    const m = median(times);
    const tr = body.insertRow();
    for (const text of [
      name,
      `${m.toFixed(2)} ms`,
      times.map((t) => t.toFixed(1)).join(', '),
      (flopCount(p) / m / 1e6).toFixed(2),
    ]) {
      tr.insertCell().textContent = text;
    }
  }
  table.hidden = false;
  const note = document.querySelector<HTMLParagraphElement>('#timing-note')!;
  note.textContent =
    `GPU times: wall-clock from submit to queue.onSubmittedWorkDone(), after one warm-up, median of ${RUNS} runs ` +
    '(includes submission overhead). CPU: one run of the float64 reference. FLOPs = 4·B·H·pairs·D' +
    (p.causal ? ', counting only the unmasked (causal) query–key pairs.' : '.');
  note.hidden = false;
}

/** Viridis-like ramp: t in [0, 1] → rgb. */
function ramp(t: number): [number, number, number] {
  const stops: Array<[number, number, number]> = [
    [68, 1, 84],
    [59, 82, 139],
    [33, 145, 140],
    [94, 201, 98],
    [253, 231, 37],
  ];
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  return [0, 1, 2].map((c) => Math.round(stops[i][c] + f * (stops[i + 1][c] - stops[i][c]))) as [
    number,
    number,
    number,
  ];
}

/** Draws weights[0, head] (an L×L block); exact zeros (masked keys) are drawn black. */
function drawHeatmap(weights: Float32Array, p: Params, head: number): void {
  const canvas = document.querySelector<HTMLCanvasElement>('#heatmap')!;
  canvas.width = p.L;
  canvas.height = p.L;
  const ctx = canvas.getContext('2d')!;
  const image = ctx.createImageData(p.L, p.L);
  const base = head * p.L * p.L;
  for (let i = 0; i < p.L * p.L; i++) {
    const w = weights[base + i];
    const [r, g, b] = w > 0 ? ramp((Math.log10(w) + 4) / 4) : [0, 0, 0];
    image.data.set([r, g, b, 255], i * 4);
  }
  ctx.putImageData(image, 0, 0);
}

function fillHeadSelect(p: Params, weights: Float32Array): void {
  const select = document.querySelector<HTMLSelectElement>('#head')!;
  select.replaceChildren(...Array.from({ length: p.H }, (_, h) => new Option(String(h), String(h))));
  select.onchange = () => drawHeatmap(weights, p, Number(select.value));
  drawHeatmap(weights, p, 0);
  document.querySelector<HTMLElement>('#weights')!.hidden = false;
}

async function run(attn: Attention, p: Params): Promise<void> {
  setResult('running', `running B=${p.B} H=${p.H} L=${p.L} D=${p.D}${p.causal ? ' causal' : ''}…`);
  const shape = [p.B, p.H, p.L, p.D];
  const n = p.B * p.H * p.L * p.D;
  const host = [1, 2, 3].map((seed) => ({ data: randomData(n, seed), shape }));
  const [q, k, v] = host.map((t) => attn.tensor(t.data, shape));
  try {
    const flash = outputsOf(attn.sdpa(q, k, v, { causal: p.causal }));
    const got = await flash.output.read();
    destroyAll(flash);
    const t0 = performance.now();
    const want = reference.sdpa(host[0], host[1], host[2], { causal: p.causal });
    const cpuMs = performance.now() - t0;
    const naive = outputsOf(attn.sdpaNaive(q, k, v, { causal: p.causal, returnWeights: true }));
    const weights = naive.weights ? await naive.weights.read() : null;
    destroyAll(naive);
    const flashTimes = await timeKernel(attn.device, () => outputsOf(attn.sdpa(q, k, v, { causal: p.causal })));
    const naiveTimes = await timeKernel(attn.device, () => outputsOf(attn.sdpaNaive(q, k, v, { causal: p.causal })));
    showTimings(p, [
      ['flash (sdpa)', flashTimes],
      ['naive (sdpaNaive)', naiveTimes],
      ['CPU reference (float64)', [cpuMs]],
    ]);
    if (weights) fillHeadSelect(p, weights);
    const err = maxAbsError(got, want.data);
    const speedup = median(naiveTimes) / median(flashTimes);
    setResult(
      'done',
      `max |flash − reference| = ${err.toExponential(2)} over ${got.length} outputs\n` +
        `flash ${median(flashTimes).toFixed(2)} ms, naive ${median(naiveTimes).toFixed(2)} ms (flash is ${speedup.toFixed(2)}× the naive speed)`,
      err,
    );
  } finally {
    for (const t of [q, k, v]) t.destroy();
  }
}

function describeAdapter(attn: Attention): string {
  const info = attn.device.adapterInfo;
  const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' · ') || 'unnamed adapter';
  const features = ['subgroups', 'timestamp-query', 'shader-f16'].filter((f) => attn.device.features.has(f));
  const l = attn.device.limits;
  return (
    `${name}\nfeatures: ${features.join(', ') || 'none of subgroups, timestamp-query, shader-f16'}` +
    `\nworkgroup storage ${l.maxComputeWorkgroupStorageSize / 1024} KiB, ${l.maxComputeInvocationsPerWorkgroup} invocations per workgroup` +
    (info.subgroupMinSize ? `, subgroup size ${info.subgroupMinSize}–${info.subgroupMaxSize}` : '')
  );
}

async function main(): Promise<void> {
  const adapterText = document.querySelector<HTMLParagraphElement>('#adapter')!;
  if (!('gpu' in navigator) || !navigator.gpu) {
    adapterText.textContent = window.isSecureContext
      ? 'This browser does not offer WebGPU (navigator.gpu is missing).'
      : 'WebGPU is only offered to secure pages (https:// or http://localhost), and this page is not one.';
    setResult(
      'unsupported',
      'Nothing can run here without WebGPU. Open this page in a browser with WebGPU enabled, such as a recent Chrome or Edge.',
    );
    return;
  }
  const attn = await createAttention().catch((e: unknown) => {
    adapterText.textContent = `WebGPU is present but gave no usable device: ${e instanceof Error ? e.message : String(e)}`;
    setResult(
      'unsupported',
      'No GPU adapter, so nothing can run here. WebGPU may be disabled or the GPU blocklisted (in Chrome, see chrome://gpu).',
    );
    return null;
  });
  if (!attn) return;
  adapterText.textContent = describeAdapter(attn);
  const button = form.querySelector('button')!;
  const go = async () => {
    button.disabled = true;
    try {
      await run(attn, readParams());
    } catch (e) {
      console.error(e);
      setResult('error', `failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    } finally {
      button.disabled = false;
    }
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void go();
  });
  await go();
}

void main();
