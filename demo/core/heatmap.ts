/**
 * A heat map of a rows × cols matrix (query × key): one canvas pixel per cell, scaled up by CSS
 * with crisp edges, so what is drawn is exactly the matrix (the tests read the pixels back). Cells
 * of exactly 0 (removed keys) are drawn in a neutral grey, apart from the ramp. Hover or the arrow
 * keys (the canvas takes focus) show query, key and weight under the map.
 */
import { scaleOf, viridis, viridisGradient, LOG_FLOOR, type Scale } from './colors';
import { fmt, h } from './dom';
import { expose } from './hook';

/** The colour of a removed cell (weight exactly 0). */
export const REMOVED_RGB: [number, number, number] = [0, 0, 0];

export interface HeatmapLabels {
  rows: string;
  cols: string;
  value: string;
}

export class Heatmap {
  readonly root: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  private readonly cursorBox: HTMLElement;
  private readonly readout: HTMLElement;
  private readonly legend: HTMLElement;
  private values: Float32Array = new Float32Array(0);
  private rows = 0;
  private cols = 0;
  private cursor: [number, number] | null = null;

  constructor(
    readonly id: string,
    caption: string,
    private readonly labels: HeatmapLabels = { rows: 'query', cols: 'key', value: 'weight' },
    /** Drawn under a see-through map (the picture under a spatial gate). */
    private readonly underlay: HTMLCanvasElement | null = null,
  ) {
    this.canvas = h('canvas', {
      id,
      class: 'heatmap',
      width: 1,
      height: 1,
      tabindex: 0,
      role: 'img',
      'aria-label': `${caption}: use the arrow keys to read cells`,
    });
    this.cursorBox = h('div', { class: 'cursor', hidden: true });
    this.readout = h(
      'p',
      { class: 'readout', 'aria-live': 'polite' },
      `hover a cell (or focus the map and use the arrow keys)`,
    );
    this.legend = h('div', { class: 'legend' });
    this.root = h(
      'figure',
      { class: 'map' },
      h('figcaption', {}, caption),
      h('div', { class: 'map-frame' }, underlay ? cloneCanvas(underlay) : null, this.canvas, this.cursorBox),
      this.legend,
      this.readout,
    );
    this.canvas.addEventListener('pointermove', (ev) => this.pointAt(ev.offsetX, ev.offsetY));
    this.canvas.addEventListener('pointerdown', (ev) => this.pointAt(ev.offsetX, ev.offsetY));
    this.canvas.addEventListener('pointerleave', (ev) => {
      if (ev.pointerType === 'mouse') this.setCursor(null);
    });
    this.canvas.addEventListener('keydown', (ev) => this.onKey(ev));
  }

  /** Draws `values` (row-major rows × cols) on `scale`; the top of the scale is the largest value (or `max`). */
  draw(values: ArrayLike<number>, rows: number, cols: number, scale: Scale, max?: number): void {
    this.values = Float32Array.from(values);
    this.rows = rows;
    this.cols = cols;
    let top = 0;
    let argmax = 0;
    for (let i = 0; i < rows * cols; i++) {
      if (this.values[i] > top) {
        top = this.values[i];
        argmax = i;
      }
    }
    const toT = scaleOf(scale, max ?? top);
    this.canvas.width = cols;
    this.canvas.height = rows;
    this.canvas.style.aspectRatio = `${cols} / ${rows}`;
    const ctx = this.canvas.getContext('2d')!;
    const image = ctx.createImageData(cols, rows);
    for (let i = 0; i < rows * cols; i++) {
      const v = this.values[i];
      image.data.set([...(v === 0 ? REMOVED_RGB : viridis(toT(v))), this.underlay ? 150 : 255], i * 4);
    }
    ctx.putImageData(image, 0, 0);
    Object.assign(this.canvas.dataset, { rows, cols, max: top, argmax, scale });
    expose('maps', this.id, { rows, cols, values: Array.from(this.values), argmax, scale });
    this.drawLegend(scale, max ?? top);
    if (this.cursor && (this.cursor[0] >= rows || this.cursor[1] >= cols)) this.setCursor(null);
    else this.setCursor(this.cursor);
  }

  private drawLegend(scale: Scale, top: number): void {
    const lo = scale === 'log' ? `${fmt(top * LOG_FLOOR)} (log)` : '0';
    this.legend.replaceChildren(
      h('span', {}, lo),
      h('span', { class: 'ramp', style: `background:${viridisGradient()}` }),
      h('span', {}, fmt(top)),
      h('span', { class: 'swatch removed', title: 'weight exactly 0' }),
      h('span', {}, 'removed (0)'),
    );
  }

  private pointAt(x: number, y: number): void {
    if (!this.rows) return;
    const r = Math.floor((y / this.canvas.clientHeight) * this.rows);
    const c = Math.floor((x / this.canvas.clientWidth) * this.cols);
    this.setCursor([Math.min(this.rows - 1, Math.max(0, r)), Math.min(this.cols - 1, Math.max(0, c))]);
  }

  private onKey(ev: KeyboardEvent): void {
    const moves: Record<string, [number, number]> = {
      ArrowUp: [-1, 0],
      ArrowDown: [1, 0],
      ArrowLeft: [0, -1],
      ArrowRight: [0, 1],
    };
    const m = moves[ev.key];
    if (!m || !this.rows) return;
    ev.preventDefault();
    const [r, c] = this.cursor ?? [0, 0];
    this.setCursor([
      Math.min(this.rows - 1, Math.max(0, r + (this.cursor ? m[0] : 0))),
      Math.min(this.cols - 1, Math.max(0, c + (this.cursor ? m[1] : 0))),
    ]);
  }

  /** Shows the cell under the pointer (or keyboard cursor) and its value; null hides it. */
  setCursor(cell: [number, number] | null): void {
    this.cursor = cell;
    if (!cell || !this.rows) {
      this.cursorBox.hidden = true;
      return;
    }
    const [r, c] = cell;
    const v = this.values[r * this.cols + c];
    Object.assign(this.cursorBox.style, {
      left: `${(c / this.cols) * 100}%`,
      top: `${(r / this.rows) * 100}%`,
      width: `${100 / this.cols}%`,
      height: `${100 / this.rows}%`,
    });
    this.cursorBox.hidden = false;
    const { rows, cols, value } = this.labels;
    this.readout.textContent = `${rows} ${r} · ${cols} ${c} · ${value} ${v === 0 ? '0 (removed)' : fmt(v, 4)}`;
    Object.assign(this.readout.dataset, { row: r, col: c, value: v });
  }
}

/** A copy of a canvas's pixels on a new canvas (an element can have one parent). */
function cloneCanvas(source: HTMLCanvasElement): HTMLCanvasElement {
  const c = h('canvas', { class: 'underlay', width: source.width, height: source.height });
  c.getContext('2d')!.drawImage(source, 0, 0);
  return c;
}
