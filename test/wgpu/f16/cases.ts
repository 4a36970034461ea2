/** The f16-arithmetic cases and their tolerance (docs/semantics.md §10), shared by the runner and the test. */
import type { SdpaCase } from '../../cases';

export interface F16Case extends Pick<SdpaCase, 'name' | 'B' | 'Hq' | 'Hkv' | 'Lq' | 'Lk' | 'D'> {
  causal: boolean;
  bshd?: boolean;
  /** q and k are uniform(−qkAmp, qkAmp), v uniform(−vAmp, vAmp), then rounded to f16. */
  qkAmp: number;
  vAmp: number;
}

export const F16_CASES: F16Case[] = [
  { name: 'causal Lq=33 Lk=70 D=64', B: 1, Hq: 2, Hkv: 2, Lq: 33, Lk: 70, D: 64, causal: true, qkAmp: 1, vAmp: 1 },
  {
    name: 'D=13 (partial vec4) Lq=7 Lk=257',
    B: 2,
    Hq: 3,
    Hkv: 3,
    Lq: 7,
    Lk: 257,
    D: 13,
    causal: false,
    qkAmp: 1,
    vAmp: 1,
  },
  {
    name: 'decode GQA 8/2 Lk=1000 (split keys) bshd',
    B: 1,
    Hq: 8,
    Hkv: 2,
    Lq: 1,
    Lk: 1000,
    D: 64,
    causal: false,
    bshd: true,
    qkAmp: 1,
    vAmp: 1,
  },
  {
    name: 'decode one row Lk=300 D=128',
    B: 1,
    Hq: 1,
    Hkv: 1,
    Lq: 1,
    Lk: 300,
    D: 128,
    causal: false,
    qkAmp: 1,
    vAmp: 1,
  },
  // D = 128: 32 × 32 tiles fit 32 KiB only as f16 tiles (f32 ones plan 32 × 16; planSdpa's halfTiles).
  {
    name: 'prefill causal Lq=Lk=70 D=128',
    B: 1,
    Hq: 2,
    Hkv: 2,
    Lq: 70,
    Lk: 70,
    D: 128,
    causal: true,
    qkAmp: 1,
    vAmp: 1,
  },
  // q·k of these would overflow f16 (|q_d·k_d| up to 9e4 > 65504): the kernel must take them in f32.
  {
    name: 'q, k near ±300 (products past f16 range)',
    B: 1,
    Hq: 2,
    Hkv: 1,
    Lq: 20,
    Lk: 40,
    D: 8,
    causal: true,
    qkAmp: 300,
    vAmp: 1,
  },
  { name: 'v near ±1000', B: 1, Hq: 2, Hkv: 2, Lq: 40, Lk: 100, D: 32, causal: false, qkAmp: 1, vAmp: 1000 },
];

/**
 * |gpu − ref| allowed at a reference value `want`: the f32 tolerance, plus with f16 arithmetic two
 * f16 roundings (the weight and the product, 2⁻¹¹ each) of terms no larger than max|v|.
 */
export function f16Bound(want: number, vAmp: number, arithmetic: boolean): number {
  return 2e-5 + 1e-4 * Math.abs(want) + (arithmetic ? 2 * 2 ** -11 * vAmp : 0);
}
