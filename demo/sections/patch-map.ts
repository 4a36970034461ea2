/**
 * The picture with one attention row over its patches: patches that get little weight are dimmed,
 * the selected patch is outlined (and, for neighbourhood attention, its window). Click a patch, or
 * focus the map and use the arrow keys, to select another; `data-selected` and `data-argmax` say
 * what is drawn.
 */
import { h } from '../core/dom';
import { GRID, SIZE } from './vision-image';

const SCALE = 2;
const CELL = (SIZE / GRID) * SCALE;

export class PatchMap {
  readonly root: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  private row: Float32Array | null = null;
  private window: ((key: number) => boolean) | null = null;

  constructor(
    readonly id: string,
    caption: string,
    private readonly picture: HTMLCanvasElement,
    private readonly onSelect: (patch: number) => void,
  ) {
    this.canvas = h('canvas', {
      id,
      class: 'patch-map',
      width: SIZE * SCALE,
      height: SIZE * SCALE,
      tabindex: 0,
      role: 'img',
      'aria-label': `${caption}: click a patch, or use the arrow keys, to choose the query patch`,
    });
    this.root = h('figure', { class: 'map' }, h('figcaption', {}, caption), this.canvas);
    this.canvas.addEventListener('click', (ev) => {
      const x = Math.floor((ev.offsetX / this.canvas.clientWidth) * GRID);
      const y = Math.floor((ev.offsetY / this.canvas.clientHeight) * GRID);
      this.onSelect(Math.min(GRID - 1, Math.max(0, y)) * GRID + Math.min(GRID - 1, Math.max(0, x)));
    });
    this.canvas.addEventListener('keydown', (ev) => {
      const step: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -GRID, ArrowDown: GRID };
      const s = step[ev.key];
      const cur = Number(this.canvas.dataset.selected ?? 0);
      if (s === undefined) return;
      ev.preventDefault();
      const next = cur + s;
      const sameRow = Math.abs(s) !== 1 || Math.floor(next / GRID) === Math.floor(cur / GRID);
      if (next >= 0 && next < GRID * GRID && sameRow) this.onSelect(next);
    });
  }

  /** Draws `row` (one weight per patch) for query patch `selected`; `inWindow` outlines the keys it may see. */
  draw(selected: number, row: Float32Array, inWindow: ((key: number) => boolean) | null = null): void {
    this.row = row;
    this.window = inWindow;
    const ctx = this.canvas.getContext('2d')!;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.picture, 0, 0, SIZE * SCALE, SIZE * SCALE);
    let max = 0;
    let argmax = 0;
    row.forEach((w, i) => {
      if (w > max) [max, argmax] = [w, i];
    });
    for (let p = 0; p < GRID * GRID; p++) {
      const t = max > 0 ? Math.sqrt(row[p] / max) : 0;
      ctx.fillStyle = `rgba(10, 10, 20, ${(0.85 * (1 - t)).toFixed(3)})`;
      ctx.fillRect((p % GRID) * CELL, Math.floor(p / GRID) * CELL, CELL, CELL);
    }
    if (this.window) this.outline((p) => this.window!(p), '#ffd166', 2);
    this.outline((p) => p === selected, '#ffffff', 4);
    Object.assign(this.canvas.dataset, { selected, argmax, max });
  }

  /** Outlines the union of the patches where `inside` holds (edges between in and out). */
  private outline(inside: (p: number) => boolean, colour: string, width: number): void {
    const ctx = this.canvas.getContext('2d')!;
    ctx.strokeStyle = colour;
    ctx.lineWidth = width;
    ctx.beginPath();
    const at = (x: number, y: number) => x >= 0 && y >= 0 && x < GRID && y < GRID && inside(y * GRID + x);
    for (let y = 0; y < GRID; y++) {
      for (let x = 0; x < GRID; x++) {
        if (!at(x, y)) continue;
        const [l, t, r, b] = [x * CELL, y * CELL, (x + 1) * CELL, (y + 1) * CELL];
        if (!at(x - 1, y)) (ctx.moveTo(l, t), ctx.lineTo(l, b));
        if (!at(x + 1, y)) (ctx.moveTo(r, t), ctx.lineTo(r, b));
        if (!at(x, y - 1)) (ctx.moveTo(l, t), ctx.lineTo(r, t));
        if (!at(x, y + 1)) (ctx.moveTo(l, b), ctx.lineTo(r, b));
      }
    }
    ctx.stroke();
  }

  get current(): Float32Array | null {
    return this.row;
  }
}
