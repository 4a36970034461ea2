/**
 * Inputs of the Attention map, as pure functions of the form's values (no DOM), so the browser test
 * rebuilds exactly what the page ran and checks the drawn map against the float64 reference.
 *
 * Random q and k give near-uniform weights, which show little. Here keys carry a sinusoidal position
 * code and each head's queries look for a position `shift` tokens back with a sharpness `gain`, plus
 * seeded noise: head 0 looks at its own token, head 1 at the previous one, and so on.
 */
import { sparsePatterns, type SdpaOptions } from '../../src/index';
import { uniform, type Host } from '../core/rng';

export const PATTERNS = {
  full: 'full',
  causal: 'causal',
  window: 'sliding window ±w',
  mistral: 'causal sliding window (Mistral)',
  longformer: 'window + global token 0 (Longformer)',
  dilated: 'dilated window (dilation 2)',
  padding: 'key padding mask (last quarter)',
  bigbird: 'block-sparse: BigBird',
  strided: 'block-sparse: strided',
  topk: 'top-k',
} as const;

export type Pattern = keyof typeof PATTERNS;

export interface MapParams {
  pattern: Pattern;
  L: number;
  H: number;
  w: number;
  block: number;
  k: number;
}

export const HEAD_DIM = 16;
const SHIFTS = [0, 1, 3, -2, 6, 2, -5, 9];
const GAINS = [3, 3, 2.5, 2, 2, 1, 0.6, 0.3];

/** q [1, H, L, 16], k [1, H, L, 16], v [1, H, L, 16]. */
export function mapInputs(p: MapParams): { q: Host; k: Host; v: Host } {
  const D = HEAD_DIM;
  const code = (pos: number, d: number) => {
    const w = 1 / 6 ** (Math.floor(d / 2) / (D / 2 - 1));
    return d % 2 ? Math.sin(pos * w) : Math.cos(pos * w);
  };
  const q = uniform(p.H * p.L * D, 101, 0.3);
  const k = uniform(p.H * p.L * D, 102, 0.3);
  for (let h = 0; h < p.H; h++) {
    for (let i = 0; i < p.L; i++) {
      for (let d = 0; d < D; d++) {
        const at = (h * p.L + i) * D + d;
        q[at] += GAINS[h % GAINS.length] * code(i - SHIFTS[h % SHIFTS.length], d);
        k[at] += code(i, d);
      }
    }
  }
  const shape = [1, p.H, p.L, D];
  return { q: { data: q, shape }, k: { data: k, shape }, v: { data: uniform(p.H * p.L * D, 103), shape } };
}

/**
 * The sdpa options of a pattern. `mask` comes back as host data (the page uploads it with
 * attn.mask); `sigmoidOk` is false where sigmoid attention has no such option (top-k).
 */
export function mapOptions(p: MapParams): {
  options: Omit<SdpaOptions, 'mask'>;
  mask: { data: Uint8Array; shape: number[] } | null;
  sigmoidOk: boolean;
} {
  const none = { mask: null, sigmoidOk: true };
  switch (p.pattern) {
    case 'full':
      return { options: {}, ...none };
    case 'causal':
      return { options: { causal: true }, ...none };
    case 'window':
      return { options: { window: { left: p.w, right: p.w } }, ...none };
    case 'mistral':
      return { options: { causal: true, window: { left: p.w, right: 0 } }, ...none };
    case 'longformer':
      return { options: { window: { left: p.w, right: p.w }, globalTokens: [0] }, ...none };
    case 'dilated':
      return { options: { window: { left: p.w, right: p.w }, dilation: 2 }, ...none };
    case 'padding': {
      const data = new Uint8Array(p.L).map((_, j) => (j < Math.ceil((p.L * 3) / 4) ? 1 : 0));
      return { options: {}, mask: { data, shape: [1, 1, 1, p.L] }, sigmoidOk: true };
    }
    case 'bigbird':
      return {
        options: {
          blockMask: sparsePatterns.bigBird({ length: p.L, blockSize: p.block, window: 3, global: 1, random: 1 }),
        },
        ...none,
      };
    case 'strided':
      return {
        options: { blockMask: sparsePatterns.strided({ length: p.L, blockSize: p.block, stride: 3 }) },
        ...none,
      };
    case 'topk':
      return { options: { topK: p.k }, mask: null, sigmoidOk: false };
  }
}
