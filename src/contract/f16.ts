/**
 * IEEE-754 binary16 ("f16", "half") on the host: the rounding rule of f16 storage, shared by the
 * GPU path (attn.tensor with dtype 'f16', read() of an f16 tensor) and the reference (an f16 KV
 * cache rounds what it is given). Storage only: kernels widen f16 to f32 exactly and compute in f32.
 *
 * Rounding is to the nearest binary16 value, ties to even, straight from the float64 number (no
 * float32 step in between): magnitudes below 2⁻¹⁴ become subnormals (multiples of 2⁻²⁴, the
 * smallest 2⁻²⁴ ≈ 5.96e-8; below half of it, ±0), magnitudes from 65520 on (65504 + half an ulp,
 * which ties to the even 2¹⁶) become ±∞, ±0 and ±∞ keep their sign, and NaN becomes the quiet NaN
 * 0x7e00.
 */

/** The largest finite f16, 65504. */
export const F16_MAX = 65504;

/** y rounded to an integer, ties to even (y ≥ 0, below 2⁵³). */
function roundHalfEven(y: number): number {
  const floor = Math.floor(y);
  const rest = y - floor;
  if (rest !== 0.5) return rest < 0.5 ? floor : floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * The binary16 bits (0 … 0xffff) of the f16 nearest to `x`, ties to even.
 * @example
 * f16Bits(1); // 0x3c00
 * f16Bits(65520); // 0x7c00 (+∞)
 * f16Bits(2 ** -25); // 0 (the tie between 0 and 2⁻²⁴ goes to the even 0)
 */
export function f16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00;
  // Subnormals count units of 2⁻²⁴; a carry into 1024 is the smallest normal, 0x0400, as it should be.
  if (a < 2 ** -14) return sign | roundHalfEven(a * 2 ** 24);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  // a / 2^e in [1, 2) is exact; its 10 fraction bits round half to even (a carry moves the exponent up).
  const significand = roundHalfEven((a / 2 ** e) * 1024);
  return sign | (((e + 15) << 10) + significand - 1024);
}

/**
 * The exact value of binary16 bits, as a number.
 * @example
 * f16Value(0x3c00); // 1
 * f16Value(0x0001); // 5.960464477539063e-8 (2⁻²⁴)
 * f16Value(0x7bff); // 65504
 */
export function f16Value(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}

/**
 * `x` rounded to the nearest f16 (ties to even), as a number.
 * @example
 * roundF16(0.1); // 0.0999755859375
 */
export function roundF16(x: number): number {
  return f16Value(f16Bits(x));
}

/**
 * The f16 bits of every value, rounded to nearest even.
 * @example
 * encodeF16(new Float32Array([1, -2, 65504])); // Uint16Array [0x3c00, 0xc000, 0x7bff]
 */
export function encodeF16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f16Bits(values[i]);
  return out;
}

let table: Float32Array | null = null;

/**
 * The values of f16 bits, widened exactly to float32 (every f16 is a float32).
 * @example
 * decodeF16(new Uint16Array([0x3c00, 0xfc00])); // Float32Array [1, -Infinity]
 */
export function decodeF16(bits: Uint16Array): Float32Array {
  if (!table) {
    table = new Float32Array(65536);
    for (let b = 0; b < 65536; b++) table[b] = f16Value(b);
  }
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  return out;
}
