/**
 * Without WebGPU: says whether this browser has WebGPU and, if not, why and what to do; then runs
 * small cases on the library's float64 CPU reference (in the worker), which needs no GPU at all, and
 * draws one attention map from it. Runs by itself where there is no WebGPU.
 */
import { cpuCall, outputOf, type RefTensor } from '../core/cpu';
import { fmt, h, messageOf, Status } from '../core/dom';
import { describeAdapter, type GpuState } from '../core/gpu';
import { Heatmap } from '../core/heatmap';
import { expose } from '../core/hook';
import { hostUniform } from '../core/rng';
import { mapInputs, mapOptions } from './attention-map-data';

interface CpuCase {
  name: string;
  run(): Promise<{ ms: number; check: string; ok: boolean }>;
}

/** Rows of a [.., L, L] weight block that sum to 1 (within 1e-9). */
function rowsSumToOne(w: Float64Array, L: number): boolean {
  for (let r = 0; r < w.length / L; r++) {
    let s = 0;
    for (let j = 0; j < L; j++) s += w[r * L + j];
    if (Math.abs(s - 1) > 1e-9) return false;
  }
  return true;
}

const CASES: CpuCase[] = [
  {
    name: 'reference.sdpa, causal, [1, 2, 16, 16]',
    async run() {
      const t = [1, 2, 3].map((s) => hostUniform([1, 2, 16, 16], s));
      const { result, ms } = await cpuCall<{ weights: RefTensor }>('sdpa', ...t, { causal: true, returnWeights: true });
      const ok = rowsSumToOne(result.weights.data, 16) && result.weights.data[1] === 0;
      return { ms, ok, check: 'every row of weights sums to 1; query 0 gives key 1 nothing' };
    },
  },
  {
    name: 'reference.neighborhood1d, kernel 5, [1, 2, 32, 8]',
    async run() {
      const t = [4, 5, 6].map((s) => hostUniform([1, 2, 32, 8], s));
      const { result, ms } = await cpuCall<RefTensor>('neighborhood1d', ...t, { kernel: 5 });
      const out = outputOf(result).data;
      const ok = out.length === 2 * 32 * 8 && out.every(Number.isFinite);
      return { ms, ok, check: `${out.length} finite outputs` };
    },
  },
  {
    name: 'reference.linearAttention, causal, [1, 2, 64, 16]',
    async run() {
      const t = [7, 8, 9].map((s) => hostUniform([1, 2, 64, 16], s));
      const { result, ms } = await cpuCall<RefTensor>('linearAttention', ...t, { causal: true });
      const out = outputOf(result).data;
      return { ms, ok: out.every(Number.isFinite), check: `${out.length} finite outputs` };
    },
  },
];

export function mountFallback(body: HTMLElement, gpu: GpuState): void {
  const message = h('div', {
    id: 'fallback-message',
    class: 'callout',
    'data-state': gpu.attn ? 'webgpu' : 'no-webgpu',
  });
  if (gpu.attn) {
    message.append(
      h(
        'p',
        {},
        `This browser has WebGPU (${describeAdapter(gpu.attn).name}), so every section above runs on the GPU. Below is what still works where WebGPU is missing.`,
      ),
    );
  } else {
    message.append(
      h('p', {}, h('strong', {}, 'No WebGPU: '), gpu.reason),
      h('p', {}, h('strong', {}, 'What to do: '), gpu.advice),
    );
  }
  const status = new Status('fallback-status');
  const table = h('table', { class: 'results', id: 'fallback-table' });
  const map = new Heatmap('fallback-map', 'reference.sdpa weights: causal sliding window, head 1 (float64, CPU)');
  const run = h('button', { type: 'button', class: 'primary', id: 'fallback-run' }, 'Run on the CPU');
  const go = async () => {
    run.disabled = true;
    table.replaceChildren(h('tr', {}, h('th', {}, 'case'), h('th', {}, 'ms'), h('th', {}, 'check')));
    let allOk = true;
    try {
      for (const c of CASES) {
        status.set('running', `${c.name}…`);
        const r = await c.run();
        allOk &&= r.ok;
        table.append(
          h(
            'tr',
            { 'data-ok': String(r.ok) },
            h('td', {}, c.name),
            h('td', {}, fmt(r.ms)),
            h('td', {}, `${r.ok ? '✓' : '✗'} ${r.check}`),
          ),
        );
      }
      const p = { pattern: 'mistral' as const, L: 32, H: 2, w: 6, block: 8, k: 3 };
      const inputs = mapInputs(p);
      const { result } = await cpuCall<{ weights: RefTensor }>('sdpa', inputs.q, inputs.k, inputs.v, {
        ...mapOptions(p).options,
        returnWeights: true,
      });
      map.draw(result.weights.data.subarray(p.L * p.L), p.L, p.L, 'linear');
      status.set(
        'done',
        `the CPU reference answered ${CASES.length + 1} cases${allOk ? ', all checks passed' : '; a check FAILED'}`,
        {
          cases: CASES.length + 1,
          ok: String(allOk),
        },
      );
      expose('sections', 'fallback', { ok: allOk, cases: CASES.length + 1 });
    } catch (e) {
      status.set('error', messageOf(e));
    } finally {
      run.disabled = false;
    }
  };
  run.addEventListener('click', () => void go());
  body.append(message, run, status.el, table, h('div', { class: 'row' }, map.root));
  if (!gpu.attn) void go();
}
