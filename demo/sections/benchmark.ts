/**
 * Benchmark: a sweep over sequence length (B = 1) on this GPU, ms on a log scale for the flash
 * kernel, the naive (materialising) kernel, a sliding window, linear attention and the float64 CPU
 * reference (in the worker, so the page stays live). Progress bar; Stop ends the sweep after the
 * measurement in flight (a CPU run in flight is abandoned at once).
 */
import type { GpuTensor } from '../../src/index';
import { LogChart, type Series } from '../core/chart';
import { SERIES_COLOURS } from '../core/colors';
import { cancelCpu, cpuCall } from '../core/cpu';
import { check, field, fmt, h, intOf, messageOf, num, Status } from '../core/dom';
import { describeAdapter, firstRun, median, timeRuns, upload, type Attention, type Outputs } from '../core/gpu';
import { expose } from '../core/hook';
import { hostUniform } from '../core/rng';

const WINDOW = 64;
/** A CPU run that took longer than this stops the CPU series (the next size would take ~4× as long). */
const CPU_LIMIT_MS = 4000;

type Method = 'flash' | 'naive' | 'window' | 'linear' | 'cpu';
const METHODS: Array<[Method, string]> = [
  ['flash', 'flash (sdpa)'],
  ['naive', 'naive (sdpaNaive)'],
  ['window', `sliding window ±${WINDOW}`],
  ['linear', 'linear attention'],
  ['cpu', 'CPU reference (float64)'],
];

function adapterPanel(attn: Attention): HTMLElement {
  const { name, features, limits } = describeAdapter(attn);
  return h(
    'details',
    { class: 'adapter', open: true },
    h('summary', {}, `Adapter: ${name}`),
    h('p', { class: 'note' }, `Features: ${features.join(', ') || 'none'}`),
    h(
      'table',
      { class: 'results' },
      ...limits.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v.toLocaleString('en')))),
    ),
  );
}

export function mountBenchmark(body: HTMLElement, attn: Attention | null): void {
  if (!attn) {
    body.append(h('p', { class: 'needs-gpu' }, 'Needs WebGPU: see “Without WebGPU” below.'));
    return;
  }
  const sizes = h('input', {
    name: 'sizes',
    type: 'text',
    value: '128, 256, 512, 1024, 2048',
    inputmode: 'numeric',
    size: 28,
  });
  const H = num('H', 8, 1, 32);
  const D = num('D', 64, 8, 256, 8);
  const runs = num('runs', 3, 1, 20);
  const picks = new Map(METHODS.map(([m]) => [m, check(m, true)]));
  const start = h('button', { type: 'submit', class: 'primary', id: 'bench-start' }, 'Start');
  const stop = h('button', { type: 'button', id: 'bench-stop', disabled: true }, 'Stop');
  const progress = h('progress', { id: 'bench-progress', max: 1, value: 0 });
  const status = new Status('bench-status');
  const chart = new LogChart('bench-chart', { x: 'sequence length L', y: 'time', unit: 'ms' });
  const table = h('table', { class: 'results', id: 'bench-table' });
  let stopping = false;

  const go = async () => {
    const Ls = [
      ...new Set(
        sizes.value
          .split(/[\s,]+/)
          .map(Number)
          .filter((n) => Number.isInteger(n) && n >= 1 && n <= 65536),
      ),
    ].sort((a, b) => a - b);
    const chosen = METHODS.filter(([m]) => picks.get(m)!.checked);
    const [nH, nD, nRuns] = [intOf(H), intOf(D), intOf(runs)];
    const series: Series[] = chosen.map(([, label], i) => ({ name: label, colour: SERIES_COLOURS[i], points: [] }));
    const notes: string[] = [];
    stopping = false;
    start.disabled = true;
    stop.disabled = false;
    progress.max = Math.max(1, Ls.length * chosen.length);
    progress.value = 0;
    table.replaceChildren(h('tr', {}, h('th', {}, 'L'), ...chosen.map(([, label]) => h('th', {}, label))));
    chart.draw(series, Ls);
    let cpuTooSlow = false;
    const measure = async (
      m: Method,
      L: number,
      q: GpuTensor,
      k: GpuTensor,
      v: GpuTensor,
      host: Array<ReturnType<typeof hostUniform>>,
      n: number,
    ): Promise<number | null> => {
      if (m === 'cpu') {
        if (cpuTooSlow) throw new Error(`skipped: the previous size took over ${CPU_LIMIT_MS / 1000} s`);
        return (await cpuCall('sdpa', ...host)).ms;
      }
      const launch: () => Outputs =
        m === 'flash'
          ? () => attn.sdpa(q, k, v)
          : m === 'naive'
            ? () => attn.sdpaNaive(q, k, v)
            : m === 'window'
              ? () => attn.sdpa(q, k, v, { window: { left: WINDOW, right: WINDOW } })
              : () => attn.linearAttention(q, k, v);
      await firstRun(attn, status, `${m} at L = ${L}`, launch, async () => attn.device.queue.onSubmittedWorkDone());
      if (stopping) return null;
      return median(await timeRuns(attn, launch, n));
    };
    try {
      for (const L of Ls) {
        if (stopping) break;
        const host = [1, 2, 3].map((seed) => hostUniform([1, nH, L, nD], seed));
        const [q, k, v] = host.map((t) => upload(attn, t));
        const row = h('tr', {}, h('td', {}, String(L)));
        table.append(row);
        try {
          for (const [i, [m, label]] of chosen.entries()) {
            if (stopping) break;
            status.set('running', `L = ${L}: ${label}…`);
            let ms: number | null = null;
            try {
              ms = await measure(m, L, q, k, v, host, nRuns);
            } catch (e) {
              if (stopping) break;
              notes.push(`${label} at L = ${L}: ${messageOf(e)}`);
            }
            if (m === 'cpu' && ms !== null && ms > CPU_LIMIT_MS) cpuTooSlow = true;
            if (ms !== null) series[i].points.push({ x: L, y: ms });
            row.append(h('td', {}, ms === null ? '—' : `${fmt(ms)} ms`));
            progress.value += 1;
            chart.draw(series, Ls);
          }
        } finally {
          for (const t of [q, k, v]) t.destroy();
        }
      }
      const points = series.reduce((n, s) => n + s.points.length, 0);
      status.set(
        stopping ? 'stopped' : 'done',
        `${stopping ? 'stopped' : 'done'}: ${points} points${notes.length ? `; ${notes.join('; ')}` : ''}`,
        { points },
      );
      expose('sections', 'benchmark', { sizes: Ls, H: nH, D: nD, series, stopped: stopping, notes });
    } catch (e) {
      status.set('error', messageOf(e));
    } finally {
      start.disabled = false;
      stop.disabled = true;
    }
  };
  const form = h(
    'form',
    { class: 'controls' },
    field('lengths L', sizes, 'comma-separated sequence lengths'),
    field('heads H', H),
    field('head dim D', D),
    field('runs per point', runs),
    ...METHODS.map(([m, label]) => field(label, picks.get(m)!)),
    start,
    stop,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!start.disabled) void go();
  });
  stop.addEventListener('click', () => {
    stopping = true;
    cancelCpu();
    status.set('running', 'stopping after the measurement in flight…');
  });
  body.append(
    adapterPanel(attn),
    form,
    progress,
    status.el,
    chart.root,
    table,
    h(
      'p',
      { class: 'note' },
      'B = 1, q, k, v [1, H, L, D], no mask. GPU: wall-clock from submit to queue.onSubmittedWorkDone(), median of the runs after a first run that compiles. CPU: one run in a worker. The naive kernel writes the whole L × L score matrix and stops where that no longer fits one buffer on this device. ' +
        'onnxruntime-web is not part of this page (its WebAssembly alone would add some 25 MB to the site): `npm run bench` compares the two on decode shapes in Node.',
    ),
  );
}
