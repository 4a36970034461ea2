/** Colour scales: viridis (perceptually ordered; its luminance rises monotonically, which the tests use). */

const VIRIDIS: Array<[number, number, number]> = [
  [68, 1, 84],
  [71, 45, 123],
  [59, 82, 139],
  [44, 114, 142],
  [33, 145, 140],
  [40, 174, 128],
  [94, 201, 98],
  [173, 220, 48],
  [253, 231, 37],
];

/** t in [0, 1] → [r, g, b], 0–255. */
export function viridis(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS[i];
  const b = VIRIDIS[i + 1];
  return [0, 1, 2].map((c) => Math.round(a[c] + f * (b[c] - a[c]))) as [number, number, number];
}

/** CSS `linear-gradient` of the ramp, for legends. */
export function viridisGradient(direction = 'to right'): string {
  const stops = VIRIDIS.map(([r, g, b], i) => `rgb(${r} ${g} ${b}) ${((i / (VIRIDIS.length - 1)) * 100).toFixed(1)}%`);
  return `linear-gradient(${direction}, ${stops.join(', ')})`;
}

/** How a value becomes a position on the ramp. */
export type Scale = 'linear' | 'log';

/** Lowest weight the log scale tells apart from zero-ish: 10⁻⁴. */
export const LOG_FLOOR = 1e-4;

/** Maps v ≥ 0 to [0, 1]: linear over [0, max], or log₁₀ over [10⁻⁴·max, max]. */
export function scaleOf(scale: Scale, max: number): (v: number) => number {
  const top = max > 0 ? max : 1;
  if (scale === 'linear') return (v) => v / top;
  const lo = Math.log10(top * LOG_FLOOR);
  const span = Math.log10(top) - lo;
  return (v) => (v > 0 ? (Math.log10(v) - lo) / span : 0);
}

/** A series colour for charts (colour-blind-safe Okabe–Ito palette). */
export const SERIES_COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000'];
