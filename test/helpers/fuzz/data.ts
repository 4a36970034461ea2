/**
 * Tensor contents for the fuzz ring. A case never carries arrays: it carries a seed, an amplitude
 * and a short list of "pokes" (special values at chosen elements), and the arrays are built from
 * them when the case runs. So a counterexample prints in a few lines and shrinks well: the seed
 * goes to 0, pokes disappear one by one and their positions go to element 0.
 */
import fc from 'fast-check';

/** torch.finfo(torch.float32).min. */
export const FINFO_MIN = -3.4028234663852886e38;

/**
 * Finite mask values far beyond any logit (§3: every one of them is added, none removes a key). At
 * these magnitudes the logit itself is lost to rounding in float64 as in float32, so the two agree.
 */
export const EXTREME_FINITE = [FINFO_MIN, -1e30, 1e30, -1e38, 1e38, 3e38, -3e38, -1.7e38];

/**
 * Large finite mask values that keep part of the logit in float32 and all of it in float64
 * (ONNX Runtime's mask_filter_value is −10000): a row whose keys all carry one of them is an
 * ordinary row, shifted.
 */
export const LARGE_FINITE = [-1e4, 1e4, -1e3, -1e5, 1e6, -3e4];

/** What a poke may write. */
export const NON_FINITE = [NaN, Infinity, -Infinity];

/** A special value at element `at` (taken modulo the tensor's size) of the tensor named `tensor`. */
export interface Poke<N extends string = string> {
  tensor: N;
  at: number;
  value: number;
}

/** mulberry32: a deterministic stream in [0, 1) from an integer seed. */
export function prng(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Uniform values in (−amplitude, amplitude), from `seed` and a salt naming the tensor. */
export function uniform(shape: readonly number[], seed: number, salt: number, amplitude = 1): Float32Array {
  const next = prng(seed * 7919 + salt * 104729);
  return Float32Array.from({ length: sizeOf(shape) }, () => (next() * 2 - 1) * amplitude);
}

/** Booleans (1 = may attend) that are 1 with probability `density`. */
export function booleans(shape: readonly number[], seed: number, salt: number, density: number): Uint8Array {
  const next = prng(seed * 7919 + salt * 104729);
  return Uint8Array.from({ length: sizeOf(shape) }, () => (next() < density ? 1 : 0));
}

/** Each element drawn from `palette` (deterministic in seed and salt). */
export function fromPalette(shape: readonly number[], seed: number, salt: number, palette: number[]): Float32Array {
  const next = prng(seed * 7919 + salt * 104729);
  return Float32Array.from({ length: sizeOf(shape) }, () => palette[Math.floor(next() * palette.length)]);
}

/** Writes the pokes aimed at `name` into `data` (positions modulo its length). */
export function applyPokes(data: Float32Array, pokes: readonly Poke[], name: string): Float32Array {
  for (const p of pokes) if (p.tensor === name) data[p.at % data.length] = p.value;
  return data;
}

/**
 * Pokes aimed at the named tensors, with values from `values` (the first is where shrinking goes).
 * A poke aimed at a tensor the case does not have is ignored.
 */
export function pokesArb<N extends string>(
  names: readonly N[],
  values: number[],
  maxLength = 3,
): fc.Arbitrary<Poke<N>[]> {
  return fc.array(
    fc.record({ tensor: fc.constantFrom(...names), at: fc.nat({ max: 4095 }), value: fc.constantFrom(...values) }),
    { maxLength },
  );
}

/** A seed for tensor contents. */
export const seedArb = fc.nat({ max: 1_000_000 });
