/**
 * Playground: pick an operation, its sizes and options; run it on this GPU; see the first run (with
 * compiling), the median of timed runs, GFLOP/s, and the largest difference from the float64 CPU
 * reference (run in a worker, so the page stays responsive).
 */
import { check, choice, field, fmt, h, intOf, messageOf, num, Status } from '../core/dom';
import { errorAgainst, firstRun, median, plural, timeRuns, type Attention } from '../core/gpu';
import { expose } from '../core/hook';
import { SDPA_OPS, type Control, type OpSpec, type Params } from './playground-ops';
import { linearAttention, linformer, mha, neighborhood1d, neighborhood2d, scoreOp } from './playground-ops-more';
import { decode } from './playground-decode';

export const OPS: OpSpec[] = [
  ...SDPA_OPS,
  neighborhood1d(),
  neighborhood2d(),
  mha(),
  scoreOp('additive'),
  scoreOp('multiplicative'),
  linearAttention(),
  linformer(),
  decode(),
];

const NUMBER_FIELDS: Array<[Exclude<Control, 'causal' | 'featureMap'>, string, number, number, number, string]> = [
  ['B', 'batch B', 1, 1, 8, 'batch size'],
  ['H', 'heads H', 4, 1, 32, 'query heads'],
  ['Hkv', 'kv heads', 4, 1, 32, 'key/value heads: fewer than H is grouped-query attention (H must be a multiple)'],
  ['L', 'length L', 256, 2, 8192, 'sequence length (queries = keys)'],
  ['side', 'map side', 16, 3, 128, 'the 2-D map is side × side tokens'],
  ['D', 'head dim D', 64, 1, 256, 'per-head width'],
  ['window', 'window ±', 16, 0, 4096, 'keys within this distance on either side'],
  ['kernel', 'kernel', 7, 1, 63, 'odd: keys per axis around each query'],
  ['topK', 'k', 8, 1, 32, 'keys kept per query (1 = hard attention)'],
  ['block', 'block size', 32, 1, 512, 'tokens per block'],
  ['rank', 'r', 32, 1, 1024, 'Linformer: keys after projection'],
  ['width', 'A', 64, 1, 512, 'additive attention width'],
  ['steps', 'decode steps', 16, 1, 256, 'tokens decoded one at a time after the prompt'],
];

/** Past this, the float64 reference in JavaScript would take minutes: it is skipped, and the page says so. */
const CPU_FLOP_LIMIT = 4e9;
const SKIP_NOTE = 'over 4 GFLOP, minutes in JavaScript; lower the sizes to compare';
/** The largest input the page builds on the host (64 Mi floats, 256 MiB). */
const MAX_ELEMENTS = 2 ** 26;

function controlField(name: Control, el: HTMLElement): HTMLElement {
  el.dataset.control = name;
  return el;
}

export function mountPlayground(body: HTMLElement, attn: Attention | null): void {
  if (!attn) {
    body.append(h('p', { class: 'needs-gpu' }, 'Needs WebGPU: see “Without WebGPU” below.'));
    return;
  }
  const op = choice(
    'op',
    OPS.map((o) => [o.id, o.label]),
    'full',
  );
  const inputs = new Map<Control, HTMLInputElement>();
  const fields: HTMLElement[] = [];
  for (const [name, label, value, min, max, hint] of NUMBER_FIELDS) {
    const input = num(name, value, min, max);
    inputs.set(name, input);
    fields.push(controlField(name, field(label, input, hint)));
  }
  const causal = check('causal', false);
  inputs.set('causal', causal);
  fields.push(controlField('causal', field('causal', causal)));
  const featureMap = choice(
    'featureMap',
    [
      ['elu+1', 'φ = elu + 1'],
      ['relu', 'φ = relu'],
    ],
    'elu+1',
  );
  fields.push(controlField('featureMap', field('feature map', featureMap)));
  const runs = num('runs', 5, 1, 50);
  const status = new Status('playground-status');
  const call = h('code', { class: 'call' });
  const table = h('table', { class: 'results', hidden: true });
  const note = h('p', { class: 'note' });

  const showControls = () => {
    const spec = OPS.find((o) => o.id === op.value)!;
    for (const f of fields) f.hidden = !spec.controls.includes(f.dataset.control as Control);
  };
  op.addEventListener('change', showControls);
  showControls();

  const params = (): Params => {
    const get = (c: Control) => intOf(inputs.get(c)!);
    return {
      B: get('B'),
      H: get('H'),
      Hkv: get('Hkv'),
      L: get('L'),
      D: get('D'),
      causal: causal.checked,
      window: get('window'),
      kernel: get('kernel'),
      side: get('side'),
      topK: get('topK'),
      block: get('block'),
      rank: get('rank'),
      width: get('width'),
      steps: get('steps'),
      featureMap: featureMap.value as Params['featureMap'],
    };
  };

  const run = h('button', { type: 'submit', class: 'primary', id: 'playground-run' }, 'Run');
  const form = h('form', { class: 'controls' }, field('operation', op), ...fields, field('timed runs', runs), run);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!run.disabled) void go();
  });
  const go = async () => {
    const spec = OPS.find((o) => o.id === op.value)!;
    const p = params();
    run.disabled = true;
    table.hidden = true;
    let prepared: ReturnType<OpSpec['prepare']> | null = null;
    try {
      const elements = p.B * Math.max(p.H, p.Hkv) * Math.max(p.L, p.side * p.side) * Math.max(p.D, p.width);
      if (elements > MAX_ELEMENTS) {
        throw new Error(
          `${fmt(elements)} elements per input is more than this page makes (${fmt(MAX_ELEMENTS)}): lower the sizes`,
        );
      }
      prepared = spec.prepare(attn, p);
      call.textContent = prepared.call;
      const first = await firstRun(attn, status, spec.label, prepared.launch, prepared.read);
      status.set('running', `timing ${intOf(runs)} runs…`);
      const times = await timeRuns(attn, prepared.launch, intOf(runs));
      const skipRef = prepared.flops > CPU_FLOP_LIMIT;
      status.set('running', skipRef ? 'done on the GPU' : 'float64 CPU reference (in a worker)…');
      const ref = skipRef ? null : await prepared.reference();
      const { maxErr, ok } = ref ? errorAgainst(first.value, ref.data) : { maxErr: NaN, ok: false };
      const per = prepared.perRun;
      const ms = median(times);
      const gflops = prepared.flops / ms / 1e6;
      const rows: Array<[string, string]> = [
        [
          'first run',
          `${fmt(first.ms)} ms${first.compiled ? ` (compiled ${plural(first.compiled, 'pipeline')})` : ' (no new pipelines)'}`,
        ],
        ['median of timed runs', `${fmt(ms)} ms${per ? ` (${fmt(ms / per.count)} ms per ${per.unit})` : ''}`],
        ['runs (ms)', times.map((t) => fmt(t)).join(', ')],
        ['GFLOP/s', `${fmt(gflops)} (${fmt(prepared.flops / 1e9)} GFLOP: ${prepared.flopNote})`],
        ['CPU reference (float64)', ref ? `${fmt(ref.ms)} ms, one run` : `skipped: ${SKIP_NOTE}`],
        ['max |GPU − reference|', ref ? `${maxErr.toExponential(2)} over ${first.value.length} outputs` : '—'],
      ];
      table.replaceChildren(...rows.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v))));
      table.hidden = false;
      const checked = ref
        ? `max error ${maxErr.toExponential(2)} ${ok ? 'within' : 'OUTSIDE'} the tolerance 2e-5 + 1e-4·|ref|`
        : `not checked (${SKIP_NOTE})`;
      status.set('done', `${spec.label}: ${checked}; ${fmt(ms)} ms, ${fmt(gflops)} GFLOP/s`, {
        maxErr,
        ok: ref ? String(ok) : 'skipped',
        ms,
        gflops,
      });
      expose('sections', 'playground', { op: spec.id, params: p, maxErr, ok, ms, gflops, cpuMs: ref?.ms });
    } catch (e) {
      status.set('error', messageOf(e));
    } finally {
      prepared?.destroy();
      run.disabled = false;
    }
  };

  note.textContent =
    'GPU times are wall-clock from submit to queue.onSubmittedWorkDone() (submission overhead included), median of the timed runs after a first run that also compiles. FLOPs count multiply and add as two.';
  body.append(form, call, status.el, table, note);
}
