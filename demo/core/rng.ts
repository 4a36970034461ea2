/**
 * Deterministic data for the demo: every input the page makes comes from a seed, so the tests can
 * rebuild it in Node and check what the page drew against the library's float64 reference.
 */

/** Mulberry32: a small 32-bit generator, uniform in [0, 1). */
export function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values uniform in [−scale, scale). */
export function uniform(n: number, seed: number, scale = 1): Float32Array {
  const next = generator(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * next() - 1) * scale;
  return out;
}

/** n values from a normal distribution with standard deviation `std` (Box–Muller). */
export function normal(n: number, seed: number, std = 1): Float32Array {
  const next = generator(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - next()));
    const a = 2 * Math.PI * next();
    out[i] = r * Math.cos(a) * std;
    if (i + 1 < n) out[i + 1] = r * Math.sin(a) * std;
  }
  return out;
}

/** A host tensor as the reference takes it. */
export interface Host {
  data: Float32Array;
  shape: number[];
}

/** A host tensor of `shape` filled by `uniform` (scale 1) from `seed`. */
export function hostUniform(shape: number[], seed: number, scale = 1): Host {
  return {
    data: uniform(
      shape.reduce((a, b) => a * b, 1),
      seed,
      scale,
    ),
    shape,
  };
}

/** A host tensor of `shape` filled by `normal` from `seed`. */
export function hostNormal(shape: number[], seed: number, std = 1): Host {
  return {
    data: normal(
      shape.reduce((a, b) => a * b, 1),
      seed,
      std,
    ),
    shape,
  };
}
