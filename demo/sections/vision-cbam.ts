/**
 * Vision, part 2: CBAM (Woo et al. 2018) on the picture's 8-channel feature map (plain pixel measures,
 * see vision-image.ts) with fixed random weights. Drawn: the channel gate as bars, the spatial gate
 * as a heat map over the picture. The GPU returns gated features, so the gates are read back as
 * ratios: channel gate = Σ y / Σ x over positions, spatial gate = Σ cbam(x) / Σ channel(x) over channels.
 */
import type { GpuTensor } from '../../src/index';
import { cpuCall, outputOf, type RefTensor } from '../core/cpu';
import { fmt, h, messageOf, Status, svg } from '../core/dom';
import { errorAgainst, firstRun, upload, type Attention } from '../core/gpu';
import { Heatmap } from '../core/heatmap';
import { expose } from '../core/hook';
import { cbamWeights, CHANNELS, featureMap, MAP } from './vision-image';

const SHORT = ['R', 'G', 'B', 'light', 'dark', 'sat.', 'edge →', 'edge ↓'];

/** The channel gate as an SVG bar chart, one `rect.bar` per channel with `data-value`. */
function bars(values: Float32Array): SVGSVGElement {
  const W = 320;
  const H = 150;
  const bw = W / values.length;
  const root = svg('svg', { class: 'bars', id: 'cbam-bars', viewBox: `0 0 ${W} ${H + 30}`, role: 'img' });
  root.setAttribute('aria-label', `channel gate: ${CHANNELS.map((c, i) => `${c} ${fmt(values[i])}`).join(', ')}`);
  root.append(svg('line', { class: 'axis', x1: 0, x2: W, y1: H, y2: H }));
  values.forEach((v, i) => {
    const rect = svg('rect', {
      class: 'bar',
      x: i * bw + 4,
      y: H - v * H,
      width: bw - 8,
      height: v * H,
      'data-value': v,
    });
    const title = svg('title');
    title.textContent = `${CHANNELS[i]}: ${fmt(v)}`;
    rect.append(title);
    const label = svg('text', { x: i * bw + bw / 2, y: H + 14, 'text-anchor': 'middle' });
    label.textContent = SHORT[i];
    const value = svg('text', { x: i * bw + bw / 2, y: H - v * H - 4, 'text-anchor': 'middle' });
    value.textContent = fmt(v, 2);
    root.append(rect, label, value);
  });
  return root;
}

/** Mounts the CBAM part; returns its run, which the section's Run also starts. */
export function mountCbam(body: HTMLElement, attn: Attention, picture: HTMLCanvasElement): () => Promise<void> {
  const status = new Status('cbam-status');
  const chart = h('figure', { class: 'map' }, h('figcaption', {}, 'channel gate (sigmoid of the shared MLP)'));
  const spatial = new Heatmap(
    'cbam-spatial',
    'spatial gate over the picture',
    { rows: 'y', cols: 'x', value: 'gate' },
    picture,
  );
  const run = h('button', { type: 'button', class: 'primary', id: 'cbam-run' }, 'Run CBAM');
  const go = async () => {
    run.disabled = true;
    const made: GpuTensor[] = [];
    try {
      const hx = featureMap();
      const hw = cbamWeights();
      const x = upload(attn, hx);
      const w = Object.fromEntries(Object.entries(hw).map(([n, t]) => [n, upload(attn, t)])) as Record<
        keyof typeof hw,
        GpuTensor
      >;
      made.push(x, ...Object.values(w));
      const gate = { w1: w.w1, b1: w.b1, w2: w.w2, b2: w.b2 };
      const read = (o: object) => (o as GpuTensor).read();
      const ca = await firstRun(
        attn,
        status,
        'channel attention',
        () => attn.channelAttention(x, { ...gate, pooling: 'avg+max' }),
        read,
      );
      const y = await firstRun(
        attn,
        status,
        'CBAM',
        () => attn.cbam(x, { channel: gate, spatial: { weight: w.weight, bias: w.bias } }),
        read,
      );
      status.set('running', 'float64 reference (in a worker)…');
      const hostGate = { w1: hw.w1, b1: hw.b1, w2: hw.w2, b2: hw.b2 };
      const refCa = await cpuCall<RefTensor>('channelAttention', hx, { ...hostGate, pooling: 'avg+max' });
      const refY = await cpuCall<RefTensor>('cbam', hx, {
        channel: hostGate,
        spatial: { weight: hw.weight, bias: hw.bias },
      });
      const e1 = errorAgainst(ca.value, outputOf(refCa.result).data);
      const e2 = errorAgainst(y.value, outputOf(refY.result).data);
      const C = CHANNELS.length;
      const P = MAP * MAP;
      const channelGate = new Float32Array(C);
      const spatialGate = new Float32Array(P);
      for (let c = 0; c < C; c++) {
        let sy = 0;
        let sx = 0;
        for (let p = 0; p < P; p++) [sy, sx] = [sy + ca.value[c * P + p], sx + hx.data[c * P + p]];
        channelGate[c] = sy / sx;
      }
      for (let p = 0; p < P; p++) {
        let sy = 0;
        let sx = 0;
        for (let c = 0; c < C; c++) [sy, sx] = [sy + y.value[c * P + p], sx + ca.value[c * P + p]];
        spatialGate[p] = sy / sx;
      }
      chart.replaceChildren(chart.firstChild!, bars(channelGate));
      spatial.draw(spatialGate, MAP, MAP, 'linear', 1);
      const maxErr = Math.max(e1.maxErr, e2.maxErr);
      const ok = e1.ok && e2.ok;
      status.set(
        'done',
        `channelAttention and cbam match the float64 reference to ${fmt(maxErr)} (${ok ? 'within' : 'OUTSIDE'} tolerance)`,
        {
          maxErr,
          ok: String(ok),
        },
      );
      expose('sections', 'cbam', {
        maxErr,
        ok,
        channelGate: Array.from(channelGate),
        spatialGate: Array.from(spatialGate),
      });
    } catch (e) {
      status.set('error', messageOf(e));
    } finally {
      for (const t of made) t.destroy();
      run.disabled = false;
    }
  };
  run.addEventListener('click', () => void go());
  body.append(
    h('h3', {}, 'Channel and spatial attention (CBAM)'),
    h(
      'p',
      { class: 'note' },
      `The picture's feature map has ${CHANNELS.length} channels of plain pixel measures (${CHANNELS.join(', ')}) on a ${MAP} × ${MAP} grid. CBAM's weights are fixed and random, not trained: the gates show what the operation computes, not what a network would learn.`,
    ),
    run,
    status.el,
    h('div', { class: 'row' }, chart, spatial.root),
  );
  return go;
}
