/**
 * Attention map: the weights of `sdpaNaive(…, { returnWeights: true })` as heat maps (query × key),
 * one head at a time, softmax beside sigmoid on the same scores and pattern; each checked against
 * `reference.sdpa(…, { returnWeights: true })` in the worker.
 */
import type { GpuTensor } from '../../src/index';
import type { Scale } from '../core/colors';
import { cpuCall } from '../core/cpu';
import { choice, field, fmt, h, intOf, messageOf, num, Status, whenVisible } from '../core/dom';
import { errorAgainst, firstRun, upload, type Attention } from '../core/gpu';
import { Heatmap } from '../core/heatmap';
import { expose } from '../core/hook';
import { mapInputs, mapOptions, PATTERNS, type MapParams, type Pattern } from './attention-map-data';

export function mountAttentionMap(body: HTMLElement, attn: Attention | null, autorun: boolean): void {
  if (!attn) {
    body.append(h('p', { class: 'needs-gpu' }, 'Needs WebGPU: see “Without WebGPU” below for a map from the CPU.'));
    return;
  }
  const pattern = choice('pattern', Object.entries(PATTERNS), 'mistral');
  const L = num('L', 48, 4, 256);
  const H = num('H', 4, 1, 8);
  const w = num('w', 6, 0, 256);
  const block = num('block', 4, 1, 64);
  const k = num('k', 3, 1, 32);
  const head = choice('head', [['0', '0']], '0');
  const scale = choice(
    'scale',
    [
      ['linear', 'linear'],
      ['log', 'log₁₀'],
    ],
    'linear',
  );
  const status = new Status('map-status');
  const softmax = new Heatmap('map-softmax', 'softmax(scores)');
  const sigmoid = new Heatmap('map-sigmoid', 'sigmoid(scores − ln L)');
  const note = h('p', { class: 'note' });
  let weights: { softmax: Float32Array; sigmoid: Float32Array | null; L: number } | null = null;

  const draw = () => {
    if (!weights) return;
    const n = weights.L;
    const at = Number(head.value) * n * n;
    const s = scale.value as Scale;
    softmax.draw(weights.softmax.subarray(at, at + n * n), n, n, s);
    if (weights.sigmoid) sigmoid.draw(weights.sigmoid.subarray(at, at + n * n), n, n, s);
  };
  head.addEventListener('change', draw);
  scale.addEventListener('change', draw);

  const run = h('button', { type: 'submit', class: 'primary', id: 'map-run' }, 'Draw');
  const go = async () => {
    const p: MapParams = {
      pattern: pattern.value as Pattern,
      L: intOf(L),
      H: intOf(H),
      w: intOf(w),
      block: intOf(block),
      k: intOf(k),
    };
    run.disabled = true;
    const made: GpuTensor[] = [];
    try {
      const host = mapInputs(p);
      const { options, mask, sigmoidOk } = mapOptions(p);
      const [q, kk, v] = [host.q, host.k, host.v].map((t) => upload(attn, t));
      made.push(q, kk, v);
      const gpuMask = mask ? attn.mask(mask.data, mask.shape) : undefined;
      const weightsOf = async (extra: object) => {
        const o = { ...options, ...(gpuMask ? { mask: gpuMask } : {}), ...extra, returnWeights: true as const };
        const r = await firstRun(
          attn,
          status,
          'the attention weights',
          () => attn.sdpaNaive(q, kk, v, o),
          (out) => (out as { weights: GpuTensor }).weights.read(),
        );
        return r.value;
      };
      const soft = await weightsOf({});
      const sig = sigmoidOk ? await weightsOf({ normalization: 'sigmoid' }) : null;
      gpuMask?.destroy();
      status.set('running', 'float64 reference of the weights (in a worker)…');
      const refOf = async (extra: object) =>
        (
          await cpuCall<{ weights: { data: Float64Array } }>('sdpa', host.q, host.k, host.v, {
            ...options,
            ...(mask ? { mask } : {}),
            ...extra,
            returnWeights: true,
          })
        ).result.weights.data;
      const errSoft = errorAgainst(soft, await refOf({}));
      const errSig = sig ? errorAgainst(sig, await refOf({ normalization: 'sigmoid' })) : { maxErr: 0, ok: true };
      weights = { softmax: soft, sigmoid: sig, L: p.L };
      const current = Math.min(Number(head.value), p.H - 1);
      head.replaceChildren(
        ...Array.from({ length: p.H }, (_, i) => new Option(`head ${i}`, String(i), i === current, i === current)),
      );
      sigmoid.root.hidden = !sig;
      draw();
      const maxErr = Math.max(errSoft.maxErr, errSig.maxErr);
      const ok = errSoft.ok && errSig.ok;
      note.textContent = sig
        ? 'Sigmoid weights are not normalised over keys: each is sigmoid(score − ln L) on its own, so a row need not sum to 1.'
        : 'Sigmoid attention has no top-k (each weight stands alone), so only softmax is drawn.';
      status.set(
        'done',
        `${PATTERNS[p.pattern]}, L = ${p.L}: weights match the float64 reference to ${fmt(maxErr)} (${ok ? 'within' : 'OUTSIDE'} tolerance)`,
        {
          maxErr,
          ok: String(ok),
        },
      );
      expose('sections', 'attentionMap', { params: p, maxErr, ok });
    } catch (e) {
      status.set('error', messageOf(e));
    } finally {
      for (const t of made) t.destroy();
      run.disabled = false;
    }
  };
  const form = h(
    'form',
    { class: 'controls' },
    field('pattern', pattern),
    field('length L', L),
    field('heads', H),
    field('window w', w, 'keys within w of the query (sliding and dilated windows)'),
    field('block', block, 'tokens per block (block-sparse patterns)'),
    field('k', k, 'keys kept per query (top-k)'),
    run,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!run.disabled) void go();
  });
  body.append(
    form,
    status.el,
    h('div', { class: 'controls' }, field('head', head), field('colour scale', scale)),
    h('div', { class: 'row' }, softmax.root, sigmoid.root),
    note,
  );
  if (autorun) whenVisible(body, () => void go());
}
