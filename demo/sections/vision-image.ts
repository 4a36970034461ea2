/**
 * The Vision section's picture and features, as pure functions (no DOM; the browser test rebuilds
 * them in Node). The picture is drawn here, by code, pixel by pixel: a sky, a sun, hills, a house
 * and a tree, 128 × 128. Nothing is a trained model: patch features are a fixed random projection of
 * each patch's pixels, and the feature map's channels are plain pixel measures.
 */
import { normal, type Host } from '../core/rng';

export const SIZE = 128;
export const PATCH = 16;
export const GRID = SIZE / PATCH;
export const FEATURE_DIM = 32;

type RGB = [number, number, number];

const inDisk = (x: number, y: number, cx: number, cy: number, r: number) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;

/** The colour of pixel (x, y), each channel in [0, 1]. */
export function pixel(x: number, y: number): RGB {
  const hill = 84 + 8 * Math.sin(x / 13) + 5 * Math.sin(x / 5.3 + 1);
  if (x >= 30 && x < 66 && y >= 66 && y < 98) {
    if (x >= 40 && x < 50 && y >= 74 && y < 84) return [0.95, 0.9, 0.55]; // window
    if (x >= 54 && x < 62 && y >= 82) return [0.35, 0.2, 0.1]; // door
    return [0.78, 0.2, 0.16]; // wall
  }
  if (y >= 46 && y < 66 && Math.abs(x - 48) <= (y - 46) * 1.05) return [0.33, 0.18, 0.12]; // roof
  if (x >= 97 && x < 103 && y >= 76 && y < 104) return [0.4, 0.26, 0.13]; // trunk
  if (inDisk(x, y, 100, 66, 15)) return [0.12, 0.45 + 0.1 * Math.sin(x + y), 0.15]; // crown
  if (y >= hill) {
    const stripe = Math.floor((x + 2 * y) / 9) % 2 ? 0.05 : 0;
    return [0.3 + stripe, 0.62 + stripe, 0.22]; // grass
  }
  if (inDisk(x, y, 24, 22, 11)) return [1, 0.85, 0.25]; // sun
  const t = y / hill;
  return [0.45 + 0.35 * t, 0.65 + 0.25 * t, 0.95]; // sky
}

/** The picture as RGBA bytes (for a canvas). */
export function pictureRgba(): Uint8ClampedArray {
  const out = new Uint8ClampedArray(SIZE * SIZE * 4);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const c = pixel(x, y);
      out.set([c[0] * 255, c[1] * 255, c[2] * 255, 255], (y * SIZE + x) * 4);
    }
  }
  return out;
}

/**
 * One feature vector per patch (row-major over the 8 × 8 grid): a fixed random projection
 * (seeded normal matrix) of the patch's centred pixels, scaled to length `gain`. Used as q and k.
 */
export function patchFeatures(gain: number): Host {
  const n = PATCH * PATCH * 3;
  const proj = normal(FEATURE_DIM * n, 201);
  const out = new Float32Array(GRID * GRID * FEATURE_DIM);
  const px = new Float64Array(n);
  for (let p = 0; p < GRID * GRID; p++) {
    const [gy, gx] = [Math.floor(p / GRID), p % GRID];
    let mean = 0;
    for (let i = 0; i < PATCH * PATCH; i++) {
      const c = pixel(gx * PATCH + (i % PATCH), gy * PATCH + Math.floor(i / PATCH));
      px.set(c, i * 3);
      mean += (c[0] + c[1] + c[2]) / n;
    }
    // The first half projects the centred pixels (texture), the second the raw ones (colour), so
    // flat patches of different colours still differ.
    let norm = 0;
    const f = out.subarray(p * FEATURE_DIM, (p + 1) * FEATURE_DIM);
    for (let d = 0; d < FEATURE_DIM; d++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += proj[d * n + i] * (d < FEATURE_DIM / 2 ? px[i] - mean : px[i]);
      f[d] = s;
      norm += s * s;
    }
    for (let d = 0; d < FEATURE_DIM; d++) f[d] *= gain / Math.sqrt(norm || 1);
  }
  return { data: out, shape: [1, 1, GRID * GRID, FEATURE_DIM] };
}

/**
 * NATTEN's 2-D neighbourhood on the grid (kernel k, dilation 1) as a boolean mask [1, 1, N, N]:
 * per axis the window starts at clamp(i − (k − 1)/2, 0, n − k), so every query sees k × k keys.
 */
export function neighbourhoodMask(kernel: number): { data: Uint8Array; shape: number[] } {
  const n = GRID;
  const start = (i: number) => Math.min(Math.max(i - (kernel - 1) / 2, 0), n - kernel);
  const N = n * n;
  const data = new Uint8Array(N * N);
  for (let q = 0; q < N; q++) {
    const [qy, qx] = [Math.floor(q / n), q % n];
    for (let key = 0; key < N; key++) {
      const [ky, kx] = [Math.floor(key / n), key % n];
      const inY = ky >= start(qy) && ky < start(qy) + kernel;
      const inX = kx >= start(qx) && kx < start(qx) + kernel;
      data[q * N + key] = inY && inX ? 1 : 0;
    }
  }
  return { data, shape: [1, 1, N, N] };
}

export const CHANNELS = ['red', 'green', 'blue', 'brightness', 'darkness', 'saturation', 'edges →', 'edges ↓'];
export const MAP = 16;

/**
 * The feature map x [1, 8, 16, 16] (nchw): each 8 × 8 block of pixels averaged into the channels
 * above, plus 0.02 so that no channel is zero anywhere (the page reads each gate back as y / x).
 */
export function featureMap(): Host {
  const C = CHANNELS.length;
  const out = new Float32Array(C * MAP * MAP);
  const cell = SIZE / MAP;
  for (let y = 0; y < MAP; y++) {
    for (let x = 0; x < MAP; x++) {
      const acc = new Float64Array(C);
      for (let i = 0; i < cell * cell; i++) {
        const [px, py] = [x * cell + (i % cell), y * cell + Math.floor(i / cell)];
        const c = pixel(px, py);
        const right = pixel(Math.min(SIZE - 1, px + 1), py);
        const down = pixel(px, Math.min(SIZE - 1, py + 1));
        const lum = (c[0] + c[1] + c[2]) / 3;
        const vals = [
          c[0],
          c[1],
          c[2],
          lum,
          1 - lum,
          Math.max(...c) - Math.min(...c),
          Math.abs((right[0] + right[1] + right[2]) / 3 - lum) * 4,
          Math.abs((down[0] + down[1] + down[2]) / 3 - lum) * 4,
        ];
        vals.forEach((v, ch) => (acc[ch] += v / (cell * cell)));
      }
      for (let ch = 0; ch < C; ch++) out[(ch * MAP + y) * MAP + x] = acc[ch] + 0.02;
    }
  }
  return { data: out, shape: [1, C, MAP, MAP] };
}

/** CBAM's weights, fixed and random (seeded): channel MLP 8 → 4 → 8, spatial 7 × 7 convolution. */
export function cbamWeights(): Record<'w1' | 'b1' | 'w2' | 'b2' | 'weight' | 'bias', Host> {
  const C = CHANNELS.length;
  const S = C / 2;
  return {
    w1: { data: normal(S * C, 211, 1 / Math.sqrt(C)), shape: [S, C] },
    b1: { data: normal(S, 212, 0.1), shape: [S] },
    w2: { data: normal(C * S, 213, 2 / Math.sqrt(S)), shape: [C, S] },
    b2: { data: normal(C, 214, 0.1), shape: [C] },
    weight: { data: normal(2 * 49, 215, 0.25), shape: [1, 2, 7, 7] },
    bias: { data: new Float32Array([0]), shape: [1] },
  };
}
