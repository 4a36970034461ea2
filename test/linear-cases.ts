/**
 * The table of named GEMM cases (`attn.linear`, x · weightᵀ + bias) shared by the Node GPU ring
 * (test/node/linear.test.ts) and the wgpu ring, with inputs deterministic from the shapes and the
 * float64 reference's answer.
 */
import { reference, type HostResult } from '../src/index';
import { encodeF16, roundF16 } from '../src/contract/f16';
import { rng } from './cases';

export interface LinearCase {
  name: string;
  /** x `[..., K]`; weight is `[N, K]`, bias `[N]`. */
  xShape: number[];
  N: number;
  bias: boolean;
  /** Byte offsets of x, weight and bias inside app buffers (`attn.wrap`); absent: `attn.tensor`. */
  offsets?: [number, number, number];
  /** Inputs stored as f16 (their host data rounded to f16 first). */
  f16?: ('x' | 'weight' | 'bias')[];
}

/** A host tensor of f32 data (what `attn.tensor` and `queue.writeBuffer` take). */
export type Host = { data: Float32Array<ArrayBuffer>; shape: number[] };

export interface LinearInputs {
  x: Host;
  weight: Host;
  bias?: Host;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function random(seed: string, shape: number[]): Host {
  const next = rng(seed);
  return { data: Float32Array.from({ length: size(shape) }, () => 2 * next() - 1), shape };
}

/** Inputs seeded by the shapes (not the name), so two cases of one shape see the same numbers. */
export function linearCaseInputs(c: LinearCase): LinearInputs {
  const K = c.xShape[c.xShape.length - 1];
  const seed = `${c.xShape.join('x')} N=${c.N} bias=${c.bias}`;
  const half = (name: 'x' | 'weight' | 'bias', t: Host): Host =>
    c.f16?.includes(name) ? { data: t.data.map(roundF16), shape: t.shape } : t;
  const x = half('x', random(`${seed} x`, c.xShape));
  const weight = half('weight', random(`${seed} w`, [c.N, K]));
  const bias = half('bias', random(`${seed} b`, [c.N]));
  return c.bias ? { x, weight, bias } : { x, weight };
}

/** The storage type of input `i` (x, weight, bias) of a case. */
export const linearDtype = (c: LinearCase, i: number): 'f32' | 'f16' =>
  c.f16?.includes((['x', 'weight', 'bias'] as const)[i]) ? 'f16' : 'f32';

/**
 * What to write with queue.writeBuffer so that a tensor's elements start at `byteOffset` of a buffer
 * (f16: halves, which may start inside a word): a word-aligned offset and whole words of bytes.
 */
export function bytesAt(
  t: Host,
  dtype: 'f32' | 'f16',
  byteOffset: number,
): { offset: number; bytes: Uint8Array<ArrayBuffer> } {
  const source = new Uint8Array(dtype === 'f16' ? encodeF16(t.data).buffer : t.data.buffer);
  const offset = Math.floor(byteOffset / 4) * 4;
  const bytes = new Uint8Array(Math.ceil((byteOffset - offset + source.byteLength) / 4) * 4);
  bytes.set(source, byteOffset - offset);
  return { offset, bytes };
}

export function linearExpected(inputs: LinearInputs): HostResult {
  return reference.linear(inputs.x, inputs.weight, inputs.bias);
}

export const LINEAR_CASES: LinearCase[] = [
  ...[
    [1, 1, 1],
    [33, 65, 17],
    [257, 129, 300],
  ].flatMap(([M, N, K]) =>
    [true, false].map((bias) => ({ name: `${M}×${N}×${K}${bias ? ' with bias' : ''}`, xShape: [M, K], N, bias })),
  ),
  { name: 'rank-3 x [3, 11, 17]', xShape: [3, 11, 17], N: 65, bias: true },
  { name: 'rank-1 x [17]', xShape: [17], N: 9, bias: true },
  {
    name: 'tensors wrapped at element offsets (x +3, weight +69, bias +130 elements)',
    xShape: [33, 17],
    N: 65,
    bias: true,
    offsets: [12, 276, 520],
  },
  { name: 'f16 x, weight and bias 33×65×17', xShape: [33, 17], N: 65, bias: true, f16: ['x', 'weight', 'bias'] },
  {
    name: 'f16 x and bias at odd half offsets (x +3, bias +131 halves), f32 weight',
    xShape: [2, 9, 21],
    N: 30,
    bias: true,
    offsets: [6, 276, 262],
    f16: ['x', 'bias'],
  },
];
