/**
 * The table of named GEMM cases (`attn.linear`, x · weightᵀ + bias) shared by the Node GPU ring
 * (test/node/linear.test.ts) and the wgpu ring, with inputs deterministic from the shapes and the
 * float64 reference's answer.
 */
import { reference, type HostResult } from '../src/index';
import { rng } from './cases';

export interface LinearCase {
  name: string;
  /** x `[..., K]`; weight is `[N, K]`, bias `[N]`. */
  xShape: number[];
  N: number;
  bias: boolean;
  /** Byte offsets of x, weight and bias inside app buffers (`attn.wrap`); absent: `attn.tensor`. */
  offsets?: [number, number, number];
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
  const x = random(`${seed} x`, c.xShape);
  const weight = random(`${seed} w`, [c.N, K]);
  const bias = random(`${seed} b`, [c.N]);
  return c.bias ? { x, weight, bias } : { x, weight };
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
];
