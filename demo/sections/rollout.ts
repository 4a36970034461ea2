/**
 * Rollout: a stack of multi-head self-attention layers (fixed random weights, said so on the page)
 * over random tokens, x ← x + layer(x); each layer's per-head weights go to `attn.attentionRollout`,
 * drawn beside the last layer's own map. The rollout is checked against `reference.attentionRollout`
 * on the same weights, and the layers against the float64 stack in the worker.
 */
import type { GpuTensor } from '../../src/index';
import { cpu, cpuCall, outputOf, type RefTensor } from '../core/cpu';
import { check, choice, field, fmt, h, intOf, messageOf, num, Status, whenVisible } from '../core/dom';
import { errorAgainst, firstRun, upload, type Attention } from '../core/gpu';
import { Heatmap } from '../core/heatmap';
import { expose } from '../core/hook';
import { fuseHeads, layerConfig, layerWeights, tokens, type RolloutParams } from './rollout-data';

export function mountRollout(body: HTMLElement, attn: Attention | null, autorun: boolean): void {
  if (!attn) {
    body.append(h('p', { class: 'needs-gpu' }, 'Needs WebGPU: see “Without WebGPU” below.'));
    return;
  }
  const L = num('L', 24, 2, 128);
  const layers = num('layers', 4, 1, 8);
  const fusion = choice(
    'headFusion',
    [
      ['mean', 'mean'],
      ['max', 'max'],
      ['min', 'min'],
    ],
    'mean',
  );
  const discard = choice(
    'discardRatio',
    [
      ['0', '0'],
      ['0.5', '0.5'],
      ['0.9', '0.9'],
    ],
    '0',
  );
  const residual = check('residual', true);
  const status = new Status('rollout-status');
  const last = new Heatmap('rollout-last', 'last layer (heads fused)', {
    rows: 'token',
    cols: 'from token',
    value: 'weight',
  });
  const rolled = new Heatmap('rollout-map', 'rollout through every layer', {
    rows: 'token',
    cols: 'from token',
    value: 'share',
  });
  const run = h('button', { type: 'submit', class: 'primary', id: 'rollout-run' }, 'Run');

  const go = async () => {
    const p: RolloutParams = {
      L: intOf(L),
      layers: intOf(layers),
      headFusion: fusion.value as RolloutParams['headFusion'],
      residual: residual.checked,
      discardRatio: Number(discard.value),
    };
    run.disabled = true;
    const made: Array<{ destroy(): void }> = [];
    try {
      let x = tokens(p.L);
      const hostLayers = Array.from({ length: p.layers }, (_, l) => layerWeights(l));
      const perLayer: GpuTensor[] = [];
      const hostWeights: Array<{ data: Float32Array; shape: number[] }> = [];
      for (const [l, hw] of hostLayers.entries()) {
        const w = Object.fromEntries(Object.entries(hw).map(([n, t]) => [n, upload(attn, t)])) as Record<
          'q' | 'k' | 'v' | 'o',
          GpuTensor
        >;
        const layer = attn.multiHeadAttention({ ...layerConfig, weights: w });
        const gx = upload(attn, x);
        made.push(layer, gx, ...Object.values(w));
        const r = await firstRun(
          attn,
          status,
          `layer ${l + 1} of ${p.layers}`,
          () => layer.forward(gx, { needWeights: true, averageHeads: false }),
          async (o) => {
            const out = o as { output: GpuTensor; weights: GpuTensor };
            return { y: await out.output.read(), w: await out.weights.read() };
          },
        );
        const next = new Float32Array(x.data.length);
        for (let i = 0; i < next.length; i++) next[i] = x.data[i] + r.value.y[i];
        x = { data: next, shape: x.shape };
        const shape = [1, layerConfig.numHeads, p.L, p.L];
        hostWeights.push({ data: r.value.w, shape });
        const gw = attn.tensor(r.value.w, shape);
        perLayer.push(gw);
        made.push(gw);
      }
      const options = { headFusion: p.headFusion, residual: p.residual, discardRatio: p.discardRatio };
      status.set('running', 'float64 reference (in a worker)…');
      const ref = await cpuCall<RefTensor>('attentionRollout', hostWeights, options);
      const rollout = (
        await firstRun(
          attn,
          status,
          'rollout',
          () => attn.attentionRollout(perLayer, options),
          (o) => (o as GpuTensor).read(),
        )
      ).value;
      const eRollout = errorAgainst(rollout, outputOf(ref.result).data);
      status.set('running', 'float64 layers (in a worker)…');
      const stack = await cpu<{ weights: RefTensor[] }>({
        kind: 'mhaStack',
        configs: hostLayers.map((weights) => ({ ...layerConfig, weights })),
        x: tokens(p.L),
      });
      const eLayers = errorAgainst(hostWeights[p.layers - 1].data, stack.result.weights[p.layers - 1].data);
      last.draw(fuseHeads(hostWeights[p.layers - 1].data, p.L, p.headFusion), p.L, p.L, 'linear');
      rolled.draw(rollout, p.L, p.L, 'linear');
      const maxErr = Math.max(eRollout.maxErr, eLayers.maxErr);
      const ok = eRollout.ok && eLayers.ok;
      status.set(
        'done',
        `attn.attentionRollout matches the float64 rollout to ${fmt(eRollout.maxErr)}; the last layer's weights match the float64 stack to ${fmt(eLayers.maxErr)} (${ok ? 'within' : 'OUTSIDE'} tolerance)`,
        { maxErr, ok: String(ok) },
      );
      expose('sections', 'rollout', { params: p, maxErr, ok });
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
    field('tokens L', L),
    field('layers', layers),
    field('head fusion', fusion),
    field('discard ratio', discard, 'zero the lowest fraction of each row before the identity is mixed in'),
    field('residual', residual, 'mix in the identity: 0.5·A + 0.5·I, rows renormalised'),
    run,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!run.disabled) void go();
  });
  body.append(
    h(
      'p',
      { class: 'note' },
      `The layers are ${layerConfig.numHeads}-head self-attention (attn.multiHeadAttention, width ${layerConfig.embedDim}) with fixed random weights drawn from a seed, over random tokens: nothing is trained, so the maps show how rollout combines layers, not what a model has learnt. Each layer adds its output to its input (x ← x + layer(x)).`,
    ),
    form,
    status.el,
    h('div', { class: 'row' }, last.root, rolled.root),
  );
  if (autorun) whenVisible(body, () => void go());
}
