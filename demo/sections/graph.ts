/**
 * Graph: graph attention (`attn.graphAttention`, PyG's GATConv) on Zachary's karate club with fixed
 * random weights. Click a node (or focus it and press Enter) to draw its attention over its
 * neighbours (and itself) as edge widths, for the chosen head; checked against the float64 reference.
 */
import type { GpuTensor } from '../../src/index';
import { cpu } from '../core/cpu';
import { choice, field, fmt, h, intOf, messageOf, num, Status, svg, whenVisible } from '../core/dom';
import { errorAgainst, firstRun, upload, type Attention } from '../core/gpu';
import { expose } from '../core/hook';
import { EDGES, edgeIndex, gatInputs, layout, MR_HI, NODES } from './graph-data';

const SIZE = 420;
const PAD = 22;

export function mountGraph(body: HTMLElement, attn: Attention | null, autorun: boolean): void {
  if (!attn) {
    body.append(h('p', { class: 'needs-gpu' }, 'Needs WebGPU: see “Without WebGPU” below.'));
    return;
  }
  const pos = layout().map(([x, y]) => [PAD + x * (SIZE - 2 * PAD), PAD + y * (SIZE - 2 * PAD)]);
  const heads = num('heads', 2, 1, 4);
  const head = choice('head', [['0', 'head 0']], '0');
  const status = new Status('graph-status');
  const drawing = svg('svg', { id: 'graph-svg', class: 'graph', viewBox: `0 0 ${SIZE} ${SIZE}`, role: 'group' });
  drawing.setAttribute('aria-label', "Zachary's karate club: 34 members, 78 friendships");
  const readout = h('ol', { class: 'readout', id: 'graph-readout' });
  const lines = EDGES.map(([a, b]) => {
    const line = svg('line', {
      class: 'edge',
      x1: pos[a][0],
      y1: pos[a][1],
      x2: pos[b][0],
      y2: pos[b][1],
      'data-a': a,
      'data-b': b,
    });
    drawing.append(line);
    return line;
  });
  const ring = svg('circle', { class: 'self', r: 13, fill: 'none', 'stroke-width': 0 });
  drawing.append(ring);
  let state: { weights: Float32Array; src: Int32Array; dst: Int32Array; H: number } | null = null;
  let selected = 0;
  const nodes = pos.map(([x, y], i) => {
    const g = svg('g', {
      class: `node ${MR_HI.has(i) ? 'hi' : 'officer'}`,
      tabindex: 0,
      role: 'button',
      'data-node': i,
    });
    g.setAttribute(
      'aria-label',
      `member ${i}${i === 0 ? ' (Mr. Hi)' : i === 33 ? ' (the officer)' : ''}: show its attention`,
    );
    const label = svg('text', { x, y: y + 4, 'text-anchor': 'middle' });
    label.textContent = String(i);
    g.append(svg('circle', { cx: x, cy: y, r: 9 }), label);
    g.addEventListener('click', () => select(i));
    g.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') {
        ev.preventDefault();
        select(i);
      }
    });
    drawing.append(g);
    return g;
  });

  const select = (i: number) => {
    selected = i;
    nodes.forEach((n, j) => n.classList.toggle('selected', j === i));
    if (!state) return;
    const { weights, src, dst, H } = state;
    const hd = Math.min(Number(head.value), H - 1);
    const incoming: Array<{ from: number; weight: number }> = [];
    for (let e = 0; e < dst.length; e++) if (dst[e] === i) incoming.push({ from: src[e], weight: weights[e * H + hd] });
    const weightFrom = new Map(incoming.map((x) => [x.from, x.weight]));
    lines.forEach((line, e) => {
      const [a, b] = EDGES[e];
      const w = a === i ? weightFrom.get(b) : b === i ? weightFrom.get(a) : undefined;
      line.classList.toggle('attended', w !== undefined);
      line.setAttribute('stroke-width', String(w === undefined ? 1 : 1.5 + 16 * w));
      if (w === undefined) line.removeAttribute('data-weight');
      else line.setAttribute('data-weight', String(w));
    });
    const self = weightFrom.get(i) ?? 0;
    Object.entries({ cx: pos[i][0], cy: pos[i][1], 'stroke-width': 1 + 16 * self, 'data-weight': self }).forEach(
      ([k, v]) => ring.setAttribute(k, String(v)),
    );
    incoming.sort((a, b) => b.weight - a.weight);
    readout.replaceChildren(
      ...incoming.map((x) => h('li', {}, `${x.from === i ? 'itself' : `member ${x.from}`}: ${fmt(x.weight, 3)}`)),
    );
    drawing.dataset.selected = String(i);
    expose('sections', 'graphSelection', { selected: i, head: hd, incoming });
  };
  head.addEventListener('change', () => select(selected));

  const run = h('button', { type: 'submit', class: 'primary', id: 'graph-run' }, 'Run');
  const go = async () => {
    const H = intOf(heads);
    run.disabled = true;
    const made: Array<{ destroy(): void }> = [];
    try {
      const host = gatInputs(H);
      const idx = edgeIndex();
      const t = Object.fromEntries(Object.entries(host).map(([n, v]) => [n, upload(attn, v)])) as Record<
        keyof typeof host,
        GpuTensor
      >;
      const g = attn.graph(idx, NODES);
      made.push(g, ...Object.values(t));
      const options = { weight: t.weight, attSrc: t.attSrc, attDst: t.attDst, heads: H, returnWeights: true as const };
      const r = await firstRun(
        attn,
        status,
        'graph attention',
        () => attn.graphAttention(t.x, g, options),
        async (o) => {
          const out = o as { output: GpuTensor; weights: GpuTensor };
          return { output: await out.output.read(), weights: await out.weights.read() };
        },
      );
      const order = g.edgeIndex.data;
      const E = order.length / 2;
      status.set('running', 'float64 reference (in a worker)…');
      const ref = await cpu<{ output: { data: Float64Array }; weights: { data: Float64Array } }>({
        kind: 'graphAttention',
        edgeIndex: idx,
        numNodes: NODES,
        x: host.x,
        options: { weight: host.weight, attSrc: host.attSrc, attDst: host.attDst, heads: H, returnWeights: true },
      });
      const e1 = errorAgainst(r.value.output, ref.result.output.data);
      const e2 = errorAgainst(r.value.weights, ref.result.weights.data);
      state = { weights: r.value.weights, src: order.subarray(0, E), dst: order.subarray(E), H };
      const cur = Math.min(Number(head.value), H - 1);
      head.replaceChildren(
        ...Array.from({ length: H }, (_, i) => new Option(`head ${i}`, String(i), i === cur, i === cur)),
      );
      select(selected);
      const maxErr = Math.max(e1.maxErr, e2.maxErr);
      const ok = e1.ok && e2.ok;
      status.set(
        'done',
        `${E} edges with self-loops, ${H} heads: output and weights match the float64 reference to ${fmt(maxErr)} (${ok ? 'within' : 'OUTSIDE'} tolerance)`,
        {
          maxErr,
          ok: String(ok),
        },
      );
      expose('sections', 'graph', { heads: H, maxErr, ok, edges: E });
    } catch (e) {
      status.set('error', messageOf(e));
    } finally {
      for (const m of made) m.destroy();
      run.disabled = false;
    }
  };
  const form = h('form', { class: 'controls' }, field('heads', heads), run, field('show head', head));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!run.disabled) void go();
  });
  body.append(
    h(
      'p',
      { class: 'note' },
      "Zachary's karate club (W. W. Zachary, Journal of Anthropological Research 33(4), 1977; the edge list of NetworkX's karate_club_graph): 34 members, 78 friendships. Colours: who sided with the instructor (member 0, blue) or the officer (member 33, orange) when the club split. Node features are seeded noise plus the degree, and the GAT weights are fixed and random: nothing is trained.",
    ),
    form,
    status.el,
    h(
      'div',
      { class: 'row' },
      h('figure', { class: 'map' }, drawing),
      h('div', {}, h('h3', {}, 'Attention of the chosen member'), readout),
    ),
  );
  select(0);
  if (autorun) whenVisible(body, () => void go());
}
