/**
 * Random valid calls of attn.linear (x [..., K] of rank 1–4, weight [N, K], optional bias [N]),
 * checked against reference.linear. NaN and ±∞ in x, weight or bias must come out where float64
 * arithmetic puts them (and nowhere else: padding lanes of the GEMM tiles must not leak them).
 */
import fc from 'fast-check';
import { reference, type GpuTensor } from '../../../src/index';
import { planMatmul } from '../../../src/ops/linear/plan';
import { deviceLimits } from './budget';
import { assertAllAgree, compare } from './compare';
import { applyPokes, NON_FINITE, pokesArb, seedArb, uniform, type Poke } from './data';
import { sometimes, type Flavour } from './sdpa-spec';
import { Scratch, take, type World } from './world';

export interface LinearSpec {
  /** Leading dims of x (rank of x = lead.length + 1). */
  lead: number[];
  K: number;
  N: number;
  bias: boolean;
  seed: number;
  pokes: Poke<'x' | 'weight' | 'bias'>[];
  /** Inputs wrapped in one app buffer (Scratch.uploadAll). */
  wrapAt: number | undefined;
}

export function linearArb(flavour: Flavour): fc.Arbitrary<LinearSpec> {
  return fc.record({
    lead: fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 3 }),
    K: fc.integer({ min: 1, max: 40 }),
    N: fc.integer({ min: 1, max: 40 }),
    bias: fc.boolean(),
    seed: seedArb,
    pokes: flavour === 'nonfinite' ? pokesArb(['x', 'weight', 'bias'] as const, NON_FINITE) : fc.constant([]),
    wrapAt: sometimes(fc.nat({ max: 70 }), 1, 4),
  });
}

/** Pipeline key of a GEMM: its tiling (rows ≤ 16 or not), bias, rotary ('-', NeoX 'n', GPT-J 'j'). */
export function linearKeyOf(rows: number, bias: boolean, rotary = '-'): string {
  const { tile } = planMatmul({ M: rows, N: 1, K: 1 }, deviceLimits());
  return `linear:${tile.tileM}x${tile.tileN}x${tile.tileK}b${bias ? 1 : 0}r${rotary}`;
}

export const linearKey = (s: LinearSpec) =>
  linearKeyOf(
    s.lead.reduce((a, b) => a * b, 1),
    s.bias,
  );

export function linearCall(s: LinearSpec) {
  const xShape = [...s.lead, s.K];
  const x = { data: applyPokes(uniform(xShape, s.seed, 1), s.pokes, 'x'), shape: xShape };
  const weight = { data: applyPokes(uniform([s.N, s.K], s.seed, 2), s.pokes, 'weight'), shape: [s.N, s.K] };
  const bias = s.bias ? { data: applyPokes(uniform([s.N], s.seed, 3), s.pokes, 'bias'), shape: [s.N] } : undefined;
  return { x, weight, bias, wrapAt: s.wrapAt };
}

/** The call on the GPU (inputs uploaded into `scratch`); returns the output tensor. */
export function runLinear(w: World, scratch: Scratch, c: ReturnType<typeof linearCall>): GpuTensor {
  const [x, weight, bias] = scratch.uploadAll([c.x, c.weight, ...(c.bias ? [c.bias] : [])], c.wrapAt) as GpuTensor[];
  return w.attn.linear(x, weight, bias);
}

export async function checkLinear(w: World, s: LinearSpec): Promise<void> {
  const c = linearCall(s);
  const expected = reference.linear(c.x, c.weight, c.bias);
  const wrapped = c.wrapAt !== undefined ? ` (wrapped in one app buffer, wrapAt ${c.wrapAt})` : '';
  const line = `linear: x [${c.x.shape}] weight [${c.weight.shape}]${c.bias ? ` bias [${c.bias.shape}]` : ''}${wrapped}\n  spec ${fc.stringify(s)}`;
  const scratch = new Scratch(w.attn);
  let got: Float32Array;
  try {
    got = await take(runLinear(w, scratch, c));
  } catch (error) {
    throw new Error(`${line}\n  the GPU call threw: ${String(error)}`);
  } finally {
    scratch.destroy();
  }
  const axes = [...s.lead.map((_, i) => `m${i}`), 'n'];
  assertAllAgree(line, { output: compare(got, expected.data, expected.shape, axes) });
}
