/**
 * `window.__demo`: what the page drew and computed, for the browser tests (and the curious, from the
 * console). Sections write here; nothing on the page reads it back.
 */

export interface DemoHook {
  /** Whether the page found a WebGPU device (set once the context is made or refused). */
  gpu?: boolean;
  /** Per heat map id: the matrix drawn, its size, the flat index of its largest value, the scale. */
  maps: Record<string, unknown>;
  /** Per section: inputs (seeds, shapes, options) and results worth checking. */
  sections: Record<string, unknown>;
}

declare global {
  interface Window {
    __demo: DemoHook;
  }
}

window.__demo ??= { maps: {}, sections: {} };

/** Records `data` under `window.__demo[group][id]`. */
export function expose(group: 'maps' | 'sections', id: string, data: unknown): void {
  window.__demo[group][id] = data;
}
