/**
 * The host's f16 codec (src/contract/f16.ts): rounding to nearest even from float64, subnormals,
 * overflow to ±∞, NaN, signed zeros; exact widening; every one of the 65536 bit patterns round-trips.
 * An independent statement of the rule on float32 bits (the integer algorithm the GEMM epilogue
 * uses in shaders/linear.wgsl, `f16_bits`) agrees with it on every float32 exponent.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeF16, encodeF16, f16Bits, f16Value, F16_MAX, roundF16 } from '../../src/contract/f16';

/** shaders/linear.wgsl's f16_bits, transcribed: float32 bits in, binary16 bits out, in u32 arithmetic. */
function wgslF16Bits(x: number): number {
  const b = new Uint32Array(new Float32Array([x]).buffer)[0];
  const sign = (b >>> 16) & 0x8000;
  const a = b & 0x7fffffff;
  if (a > 0x7f800000) return sign | 0x7e00;
  if (a >= 0x477ff000) return sign | 0x7c00;
  if (a >= 0x38800000) {
    const r = (a + 0xfff + ((a >>> 13) & 1)) >>> 0;
    return sign | ((r - 0x38000000) >>> 13);
  }
  const m = (a & 0x7fffff) | 0x800000;
  const s = Math.min(126 - (a >>> 23), 25);
  const q = m >>> s;
  const rest = m & ((1 << s) - 1);
  const half = 1 << (s - 1);
  const up = rest > half || (rest === half && (q & 1) === 1) ? 1 : 0;
  return sign | (q + up);
}

describe('f16 codec', () => {
  it('encodes the edge cases', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [F16_MAX, 0x7bff],
      [-F16_MAX, 0xfbff],
      [65519.99, 0x7bff], // below the midpoint 65520: the largest finite
      [65520, 0x7c00], // the midpoint ties to the even 2^16, which is +∞
      [1e6, 0x7c00],
      [-1e6, 0xfc00],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], // the smallest normal
      [2 ** -24, 0x0001], // the smallest subnormal
      [1023 * 2 ** -24, 0x03ff], // the largest subnormal
      [2 ** -25, 0x0000], // tie between 0 and 2^-24: the even 0
      [-(2 ** -25), 0x8000],
      [2 ** -25 * 1.0001, 0x0001],
      [3 * 2 ** -25, 0x0002], // tie between 1 and 2 units: the even 2
      [1023.5 * 2 ** -24, 0x0400], // rounds up out of the subnormals into the smallest normal
      [1 + 2 ** -11, 0x3c00], // tie: the even 1
      [1 + 3 * 2 ** -11, 0x3c02], // tie: the even 1 + 2^-9
      [1 + 2 ** -11 + 2 ** -30, 0x3c01], // past the tie
      [0.1, 0x2e66],
      [1e-9, 0x0000],
    ];
    for (const [x, bits] of cases) expect(f16Bits(x), `${x}`).toBe(bits);
    expect(f16Bits(NaN)).toBe(0x7e00);
    expect(Array.from(encodeF16([1, NaN, -0]))).toEqual([0x3c00, 0x7e00, 0x8000]);
  });

  it('decodes exactly, with signed zeros, ±∞ and NaN', () => {
    expect(f16Value(0x0001)).toBe(2 ** -24);
    expect(f16Value(0x03ff)).toBe(1023 * 2 ** -24);
    expect(f16Value(0x7bff)).toBe(65504);
    expect(Object.is(f16Value(0x8000), -0)).toBe(true);
    expect(f16Value(0x7c00)).toBe(Infinity);
    expect(f16Value(0xfc00)).toBe(-Infinity);
    expect(f16Value(0x7e00)).toBeNaN();
    expect(f16Value(0xfc01)).toBeNaN();
    const wide = decodeF16(new Uint16Array([0x3555, 0x8001, 0xfbff]));
    expect(Array.from(wide)).toEqual([f16Value(0x3555), -(2 ** -24), -65504]);
  });

  it('round-trips all 65536 bit patterns (NaNs to NaN)', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, b) => b);
    const wide = decodeF16(all);
    const wrong: string[] = [];
    for (let b = 0; b < 65536; b++) {
      const x = wide[b];
      if (!(x === f16Value(b) || (Number.isNaN(x) && Number.isNaN(f16Value(b)))))
        wrong.push(`0x${b.toString(16)} widens to ${x}`);
      if (!Number.isNaN(x) && f16Bits(x) !== b)
        wrong.push(`bits 0x${b.toString(16)}: ${x} → 0x${f16Bits(x).toString(16)}`);
    }
    expect(wrong.slice(0, 10)).toEqual([]);
  });

  it('rounds to the nearest f16, ties to even, from float64', () => {
    fc.assert(
      fc.property(fc.double({ min: -70000, max: 70000, noNaN: true }), (x) => {
        const r = roundF16(x);
        if (Math.abs(x) >= 65520) return r === Math.sign(x) * Infinity;
        // No f16 lies strictly closer: check both neighbours of r.
        const bits = f16Bits(x);
        const neighbours = [bits - 1, bits + 1].filter((b) => (b & 0x7fff) <= 0x7bff && b >= 0 && b <= 0xffff);
        return neighbours.every((b) => Math.abs(f16Value(b) - x) >= Math.abs(r - x));
      }),
      { numRuns: 20000 },
    );
  });

  it("agrees with the GEMM epilogue's integer rounding on float32 inputs of every exponent", () => {
    const words = new Uint32Array(1);
    const f = new Float32Array(words.buffer);
    // Mismatches are collected and asserted once: 102,400 expect() calls alone take seconds.
    const mismatches: string[] = [];
    for (let exponent = 0; exponent < 256; exponent++) {
      for (let i = 0; i < 400; i++) {
        words[0] = (exponent << 23) | ((i * 2654435761) & 0x7fffff) | (i % 2 ? 0x80000000 : 0);
        if (i < 8) words[0] = (words[0] & 0xff800000) | [0, 1, 0xfff, 0x1000, 0x1fff, 0x2000, 0x3000, 0x7fffff][i];
        const x = f[0];
        const ok = Number.isNaN(x) ? (wgslF16Bits(x) & 0x7fff) === 0x7e00 : wgslF16Bits(x) === f16Bits(x);
        if (!ok) mismatches.push(`${x} (0x${words[0].toString(16)})`);
      }
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
  });
});
