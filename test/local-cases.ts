/**
 * The table of named neighbourhood-attention cases (NATTEN semantics) shared by the Node GPU ring
 * and the browser ring, with their inputs (deterministic from the name) and reference outputs.
 * Few kernel sizes and flags: each distinct set compiles new pipelines on SwiftShader.
 */
import { reference, type HostTensor } from '../src/index';
import { rng } from './cases';
import { roundF16 } from '../src/contract/f16';

export interface LocalCase {
  name: string;
  rank: 1 | 2;
  B: number;
  Hq: number;
  Hkv: number;
  Y: number;
  X: number;
  D: number;
  Dv: number;
  kernel: number | [number, number];
  dilation?: number | [number, number];
  causal?: boolean | [boolean, boolean];
  rpb?: boolean;
  channelsLast?: boolean;
  scale?: number;
  /** q, k, v and rpb stored as f16 on the GPU (their host data rounded to f16 first). */
  f16?: boolean;
}

export const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

export function shapeOf(c: LocalCase, H: number, dim: number): number[] {
  if (c.rank === 1) return c.channelsLast ? [c.B, c.X, H, dim] : [c.B, H, c.X, dim];
  return c.channelsLast ? [c.B, c.Y, c.X, H, dim] : [c.B, H, c.Y, c.X, dim];
}

export function rpbShape(c: LocalCase): number[] {
  const [ky, kx] = typeof c.kernel === 'number' ? [c.kernel, c.kernel] : c.kernel;
  return c.rank === 1 ? [c.Hq, 2 * kx - 1] : [c.Hq, 2 * ky - 1, 2 * kx - 1];
}

/** Host data of a case, deterministic from its name. */
export function caseInputs(c: LocalCase) {
  const next = rng(c.name);
  const value = c.f16 ? () => roundF16(next() * 2 - 1) : () => next() * 2 - 1;
  const host = (shape: number[]): HostTensor => ({ data: Float32Array.from({ length: size(shape) }, value), shape });
  return {
    q: host(shapeOf(c, c.Hq, c.D)),
    k: host(shapeOf(c, c.Hkv, c.D)),
    v: host(shapeOf(c, c.Hkv, c.Dv)),
    rpb: c.rpb ? host(rpbShape(c)) : undefined,
  };
}

/** The call options of a case, rpb of type T. */
export function localCaseOptions<T>(c: LocalCase, rpb: T | undefined) {
  const layout = c.rank === 1 ? (c.channelsLast ? 'bshd' : 'bhsd') : c.channelsLast ? 'byxhd' : 'bhyxd';
  return { kernel: c.kernel, dilation: c.dilation, causal: c.causal, scale: c.scale, rpb, layout } as never;
}

export function localExpected(c: LocalCase, inputs: ReturnType<typeof caseInputs>) {
  const run = c.rank === 1 ? reference.neighborhood1d : reference.neighborhood2d;
  return run(inputs.q, inputs.k, inputs.v, localCaseOptions(c, inputs.rpb));
}

export const LOCAL_MAP = { B: 1, Hq: 1, Hkv: 1, Y: 13, X: 17, rank: 2 as const };
export const LOCAL_CASES: LocalCase[] = [
  { ...LOCAL_MAP, name: '2-D 13×17 k=3 B=2 Hq=4 Hkv=2 D=6 Dv=10', B: 2, Hq: 4, Hkv: 2, D: 6, Dv: 10, kernel: 3 },
  {
    ...LOCAL_MAP,
    name: '2-D 13×17 k=5 dilation 2 causal [y] rpb byxhd Hq=4 Hkv=1 D=5 Dv=3',
    Hq: 4,
    D: 5,
    Dv: 3,
    kernel: 5,
    dilation: 2,
    causal: [true, false],
    rpb: true,
    channelsLast: true,
  },
  { ...LOCAL_MAP, name: '2-D 13×17 k=7 causal [x] rpb D=8', D: 8, Dv: 8, kernel: 7, causal: [false, true], rpb: true },
  {
    ...LOCAL_MAP,
    name: '2-D 13×17 k=13 (the whole y axis) causal rpb Hq=2 Hkv=1 D=4',
    Hq: 2,
    D: 4,
    Dv: 4,
    kernel: 13,
    causal: true,
    rpb: true,
  },
  { ...LOCAL_MAP, name: '2-D 13×17 k=3 dilation 4 D=8', D: 8, Dv: 8, kernel: 3, dilation: 4 },
  {
    ...LOCAL_MAP,
    name: '2-D 13×17 k=3 dilation [2, 3] causal rpb byxhd B=2 D=7 Dv=9',
    B: 2,
    D: 7,
    Dv: 9,
    kernel: 3,
    dilation: [2, 3],
    causal: true,
    rpb: true,
    channelsLast: true,
  },
  {
    ...LOCAL_MAP,
    name: '2-D 13×17 kernel [3, 5] dilation [3, 2] Hq=2 Hkv=2 D=12 Dv=4 scale 0.3',
    Hq: 2,
    Hkv: 2,
    D: 12,
    Dv: 4,
    kernel: [3, 5],
    dilation: [3, 2],
    scale: 0.3,
  },
  {
    ...LOCAL_MAP,
    name: '2-D 13×17 k=5 rpb GQA Hq=4 Hkv=1 byxhd D=16 Dv=20',
    Hq: 4,
    D: 16,
    Dv: 20,
    kernel: 5,
    rpb: true,
    channelsLast: true,
  },
  {
    ...LOCAL_MAP,
    name: '1-D L=31 k=5 dilation 3 causal rpb bshd Hq=2 Hkv=1 D=12 Dv=5',
    rank: 1,
    Y: 1,
    X: 31,
    Hq: 2,
    D: 12,
    Dv: 5,
    kernel: 5,
    dilation: 3,
    causal: true,
    rpb: true,
    channelsLast: true,
  },
  { ...LOCAL_MAP, name: '1-D L=7 k=7 (the whole sequence) D=4', rank: 1, Y: 1, X: 7, D: 4, Dv: 4, kernel: 7 },
  {
    ...LOCAL_MAP,
    name: '1-D L=33 k=3 rpb Hq=2 Hkv=1 D=9 Dv=16',
    rank: 1,
    Y: 1,
    X: 33,
    Hq: 2,
    D: 9,
    Dv: 16,
    kernel: 3,
    rpb: true,
  },
  {
    ...LOCAL_MAP,
    name: '1-D L=100 k=9 dilation 5 B=2 D=3 Dv=7',
    rank: 1,
    Y: 1,
    X: 100,
    B: 2,
    D: 3,
    Dv: 7,
    kernel: 9,
    dilation: 5,
  },
  {
    ...LOCAL_MAP,
    name: 'f16 2-D 13×17 k=5 dilation [1, 2] rpb GQA Hq=4 Hkv=2 D=7 Dv=5',
    Hq: 4,
    Hkv: 2,
    D: 7,
    Dv: 5,
    kernel: 5,
    dilation: [1, 2],
    rpb: true,
    f16: true,
  },
  {
    ...LOCAL_MAP,
    name: 'f16 1-D L=33 k=7 causal rpb bshd D=9',
    rank: 1,
    Y: 1,
    X: 33,
    D: 9,
    Dv: 9,
    kernel: 7,
    causal: true,
    rpb: true,
    channelsLast: true,
    f16: true,
  },
];
