/**
 * A small SVG line chart with log axes (x: log₂, y: log₁₀), drawn by hand: one polyline and one
 * circle per point per series. Each circle carries `data-series`, `data-x`, `data-y` (the tests
 * count them) and a `<title>` tooltip.
 */
import { svg } from './dom';

export interface Point {
  x: number;
  y: number;
}

export interface Series {
  name: string;
  colour: string;
  points: Point[];
}

const W = 640;
const H = 360;
const PAD = { left: 64, right: 16, top: 16, bottom: 44 };

export class LogChart {
  readonly root: SVGSVGElement;

  constructor(
    id: string,
    private readonly labels: { x: string; y: string; unit: string },
  ) {
    this.root = svg('svg', {
      id,
      class: 'chart',
      viewBox: `0 0 ${W} ${H}`,
      role: 'img',
      'aria-label': `${labels.y} against ${labels.x}, log scales`,
    });
  }

  /** Redraws every series over x in [xs[0], xs[last]] (the sweep's sizes, ticked one by one). */
  draw(series: Series[], xs: number[]): void {
    const all = series.flatMap((s) => s.points).filter((p) => p.y > 0 && Number.isFinite(p.y));
    const lo = Math.floor(Math.log10(all.length ? Math.min(...all.map((p) => p.y)) : 0.1));
    const hi = Math.ceil(Math.log10(all.length ? Math.max(...all.map((p) => p.y)) : 100));
    const yTop = hi > lo ? hi : lo + 1;
    const x0 = Math.log2(xs[0] ?? 1);
    const x1 = Math.log2(xs[xs.length - 1] ?? 2);
    const px = (x: number) => PAD.left + ((Math.log2(x) - x0) / (x1 - x0 || 1)) * (W - PAD.left - PAD.right);
    const py = (y: number) => H - PAD.bottom - ((Math.log10(y) - lo) / (yTop - lo)) * (H - PAD.top - PAD.bottom);
    const nodes: SVGElement[] = [];
    for (let e = lo; e <= yTop; e++) {
      const y = py(10 ** e);
      nodes.push(svg('line', { class: 'grid', x1: PAD.left, x2: W - PAD.right, y1: y, y2: y }));
      nodes.push(text(PAD.left - 6, y + 4, e >= 0 && e < 4 ? String(10 ** e) : `1e${e}`, 'end'));
    }
    for (const x of xs) {
      nodes.push(svg('line', { class: 'grid', x1: px(x), x2: px(x), y1: PAD.top, y2: H - PAD.bottom }));
      nodes.push(text(px(x), H - PAD.bottom + 16, String(x), 'middle'));
    }
    nodes.push(text((PAD.left + W - PAD.right) / 2, H - 8, this.labels.x, 'middle'));
    const yLabel = text(14, (PAD.top + H - PAD.bottom) / 2, `${this.labels.y} (${this.labels.unit}, log)`, 'middle');
    yLabel.setAttribute('transform', `rotate(-90 14 ${(PAD.top + H - PAD.bottom) / 2})`);
    nodes.push(yLabel);
    for (const s of series) {
      const pts = s.points.filter((p) => p.y > 0 && Number.isFinite(p.y));
      nodes.push(
        svg('polyline', {
          class: 'series',
          stroke: s.colour,
          points: pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' '),
        }),
      );
      for (const p of pts) {
        const c = svg('circle', {
          class: 'point',
          cx: px(p.x),
          cy: py(p.y),
          r: 4,
          fill: s.colour,
          'data-series': s.name,
          'data-x': p.x,
          'data-y': p.y,
        });
        const title = svg('title');
        title.textContent = `${s.name}: ${this.labels.x} ${p.x}, ${p.y.toPrecision(3)} ${this.labels.unit}`;
        c.append(title);
        nodes.push(c);
      }
    }
    series.forEach((s, i) => {
      const y = PAD.top + 10 + i * 16;
      nodes.push(svg('rect', { x: PAD.left + 8, y: y - 8, width: 10, height: 10, fill: s.colour }));
      nodes.push(text(PAD.left + 24, y + 1, s.name, 'start'));
    });
    this.root.replaceChildren(...nodes);
  }
}

function text(x: number, y: number, content: string, anchor: 'start' | 'middle' | 'end'): SVGTextElement {
  const t = svg('text', { x, y, 'text-anchor': anchor });
  t.textContent = content;
  return t;
}
