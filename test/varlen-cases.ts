/**
 * Packed (variable-length) attention: the named cases and the bad calls that the reference ring
 * and the Node ring both run. Data and functions only, no test framework.
 */
import type { VarlenOptions } from '../src/contract/varlen';
import { rng } from './cases';

/** The options of a case, less the offsets (which the case lists as cuQ, cuK). */
export type VarlenCaseOptions = Omit<VarlenOptions, 'cuSeqlensQ' | 'cuSeqlensK'>;

export interface VarlenCase {
  name: string;
  cuQ: number[];
  cuK: number[];
  Hq: number;
  Hkv: number;
  D: number;
  Dv: number;
  options?: VarlenCaseOptions;
}

export const VARLEN_CASES: VarlenCase[] = [
  {
    name: 'self-attention B=3 with a length-1 sequence',
    cuQ: [0, 5, 6, 19],
    cuK: [0, 5, 6, 19],
    Hq: 4,
    Hkv: 4,
    D: 16,
    Dv: 16,
  },
  {
    name: 'a zero-length query sequence, Lq ≠ Lk, Dv ≠ D',
    cuQ: [0, 3, 3, 10],
    cuK: [0, 7, 9, 12],
    Hq: 2,
    Hkv: 2,
    D: 8,
    Dv: 12,
    options: { returnLse: true },
  },
  {
    name: 'causal upper-left, Lq ≠ Lk per sequence',
    cuQ: [0, 6, 10, 11],
    cuK: [0, 3, 12, 20],
    Hq: 2,
    Hkv: 1,
    D: 8,
    Dv: 8,
    options: { causal: true, returnLse: true },
  },
  {
    name: 'causal lower-right (FlashAttention), rows before the keys are empty',
    cuQ: [0, 6, 10, 11],
    cuK: [0, 3, 12, 20],
    Hq: 2,
    Hkv: 1,
    D: 8,
    Dv: 8,
    options: { causal: true, alignment: 'lower-right', returnLse: true },
  },
  {
    name: 'chunked prefill against a cache: causal lower-right, Lq < Lk',
    cuQ: [0, 1, 3, 7],
    cuK: [0, 9, 14, 30],
    Hq: 4,
    Hkv: 2,
    D: 12,
    Dv: 12,
    options: { causal: true, alignment: 'lower-right' },
  },
  {
    name: 'window 3/2 with dilation 2, GQA 8/2',
    cuQ: [0, 40, 41, 75],
    cuK: [0, 40, 41, 75],
    Hq: 8,
    Hkv: 2,
    D: 8,
    Dv: 8,
    options: { window: { left: 3, right: 2 }, dilation: 2 },
  },
  {
    name: 'Mistral window (causal, left 4) lower-right, returnLse',
    cuQ: [0, 9, 12, 30],
    cuK: [0, 9, 20, 30],
    Hq: 2,
    Hkv: 2,
    D: 8,
    Dv: 4,
    options: { causal: true, alignment: 'lower-right', window: { left: 4, right: 0 }, returnLse: true },
  },
  {
    name: 'softcap and scale, multi-query (Hkv = 1), returnLse',
    cuQ: [0, 17, 50],
    cuK: [0, 20, 33],
    Hq: 3,
    Hkv: 1,
    D: 20,
    Dv: 20,
    options: { softcap: 2, scale: 0.9, returnLse: true },
  },
  {
    name: 'a sequence with queries and no keys: zeros, lse −∞',
    cuQ: [0, 2, 5, 6],
    cuK: [0, 0, 6, 6],
    Hq: 2,
    Hkv: 2,
    D: 4,
    Dv: 4,
    options: { causal: true, returnLse: true },
  },
  {
    name: 'decoding: one query per sequence against long keys',
    cuQ: [0, 1, 2, 3],
    cuK: [0, 300, 301, 420],
    Hq: 8,
    Hkv: 2,
    D: 16,
    Dv: 16,
    options: { causal: true, alignment: 'lower-right', returnLse: true },
  },
];

/** Seeded data of a case: packed q [totalQ, Hq, D], k [totalK, Hkv, D], v [totalK, Hkv, Dv], in [−1, 1). */
export function varlenData(c: VarlenCase): Record<'q' | 'k' | 'v', { data: Float32Array; shape: number[] }> {
  const next = rng(c.name);
  const tensor = (shape: number[]) => ({
    data: Float32Array.from({ length: shape[0] * shape[1] * shape[2] }, () => next() * 2 - 1),
    shape,
  });
  const totalQ = c.cuQ[c.cuQ.length - 1];
  const totalK = c.cuK[c.cuK.length - 1];
  return { q: tensor([totalQ, c.Hq, c.D]), k: tensor([totalK, c.Hkv, c.D]), v: tensor([totalK, c.Hkv, c.Dv]) };
}

/** The options of a case, offsets included. */
export function varlenOptions(c: VarlenCase): VarlenOptions {
  return { ...c.options, cuSeqlensQ: c.cuQ, cuSeqlensK: c.cuK };
}

/** A call that must be refused: shapes of q, k, v (zeros), its options, the argument and message fragments. */
export interface BadVarlenCall {
  name: string;
  shapes?: { q: number[]; k: number[]; v: number[] };
  options: unknown;
  argument: string;
  fragments: string[];
}

/** q [5, 2, 4], k and v [7, 2, 4], two sequences: (2 queries, 3 keys) and (3 queries, 4 keys). */
export const BAD_SHAPES = { q: [5, 2, 4], k: [7, 2, 4], v: [7, 2, 4] };
const cu = { cuSeqlensQ: [0, 2, 5], cuSeqlensK: [0, 3, 7] };

export const BAD_VARLEN: BadVarlenCall[] = [
  { name: 'no options', options: undefined, argument: 'options', fragments: ['cuSeqlensQ and cuSeqlensK'] },
  {
    name: 'cuSeqlensQ missing',
    options: { cuSeqlensK: cu.cuSeqlensK },
    argument: 'options.cuSeqlensQ',
    fragments: ['got undefined'],
  },
  {
    name: 'cuSeqlensQ decreasing',
    options: { cuSeqlensQ: [0, 3, 2, 5], cuSeqlensK: [0, 3, 3, 7] },
    argument: 'options.cuSeqlensQ',
    fragments: ['2 after 3 at index 2', 'non-decreasing'],
  },
  {
    name: 'cuSeqlensK negative length',
    options: { ...cu, cuSeqlensK: [0, 4, 3, 7], cuSeqlensQ: [0, 2, 2, 5] },
    argument: 'options.cuSeqlensK',
    fragments: ['3 after 4'],
  },
  {
    name: 'cuSeqlensQ not ending at totalQ',
    options: { ...cu, cuSeqlensQ: [0, 2, 4] },
    argument: 'options.cuSeqlensQ',
    fragments: ['last offset 4', '5, the token count of q'],
  },
  {
    name: 'cuSeqlensK not ending at totalK',
    options: { ...cu, cuSeqlensK: [0, 3, 8] },
    argument: 'options.cuSeqlensK',
    fragments: ['last offset 8', '7, the token count of k'],
  },
  {
    name: 'cuSeqlensK of another length than cuSeqlensQ',
    options: { ...cu, cuSeqlensK: [0, 7] },
    argument: 'options.cuSeqlensK',
    fragments: ['length 2', 'length 3, as options.cuSeqlensQ'],
  },
  {
    name: 'cuSeqlensQ of length 1',
    options: { cuSeqlensQ: [5], cuSeqlensK: [7] },
    argument: 'options.cuSeqlensQ',
    fragments: ['length 1', 'B + 1 ≥ 2'],
  },
  {
    name: 'cuSeqlensQ not starting at 0',
    options: { ...cu, cuSeqlensQ: [1, 2, 5] },
    argument: 'options.cuSeqlensQ',
    fragments: ['first offset 1'],
  },
  {
    name: 'a non-integer offset',
    options: { ...cu, cuSeqlensQ: [0, 2.5, 5] },
    argument: 'options.cuSeqlensQ',
    fragments: ['2.5 at index 1', 'integer offsets'],
  },
  {
    name: 'a NaN offset',
    options: { ...cu, cuSeqlensK: [0, NaN, 7] },
    argument: 'options.cuSeqlensK',
    fragments: ['NaN at index 1'],
  },
  {
    name: 'a string offset',
    options: { ...cu, cuSeqlensK: [0, '3', 7] },
    argument: 'options.cuSeqlensK',
    fragments: ["'3' at index 1"],
  },
  {
    name: 'a Float32Array',
    options: { ...cu, cuSeqlensQ: new Float32Array([0, 2, 5]) },
    argument: 'options.cuSeqlensQ',
    fragments: ['Float32Array(3)', 'Int32Array'],
  },
  {
    name: 'a string',
    options: { ...cu, cuSeqlensK: '0,3,7' },
    argument: 'options.cuSeqlensK',
    fragments: ["'0,3,7'"],
  },
  { name: 'a mask', options: { ...cu, mask: 1 }, argument: 'options.mask', fragments: ['no mask'] },
  {
    name: 'global tokens',
    options: { ...cu, globalTokens: [0] },
    argument: 'options.globalTokens',
    fragments: ['no global tokens'],
  },
  {
    name: 'a layout',
    options: { ...cu, layout: 'bshd' },
    argument: 'options.layout',
    fragments: ['[tokens, heads, dim]'],
  },
  { name: 'an unknown key', options: { ...cu, tile: {} }, argument: 'options.tile', fragments: ['an unknown key'] },
  { name: 'a bad scale', options: { ...cu, scale: -1 }, argument: 'options.scale', fragments: ['got -1'] },
  {
    name: 'a bad window',
    options: { ...cu, window: { left: -2, right: 0 } },
    argument: 'options.window.left',
    fragments: ['got -2'],
  },
  {
    name: 'q of rank 4',
    shapes: { ...BAD_SHAPES, q: [1, 5, 2, 4] },
    options: cu,
    argument: 'q',
    fragments: ['[totalQ, Hq, D]'],
  },
  {
    name: 'k of another head dim',
    shapes: { ...BAD_SHAPES, k: [7, 2, 8] },
    options: cu,
    argument: 'k',
    fragments: ['head dim 8'],
  },
  {
    name: 'v of another token count',
    shapes: { ...BAD_SHAPES, v: [6, 2, 4] },
    options: cu,
    argument: 'v',
    fragments: ['6 tokens'],
  },
  {
    name: 'kv heads that do not divide the query heads',
    shapes: { q: [5, 3, 4], k: [7, 2, 4], v: [7, 2, 4] },
    options: cu,
    argument: 'k',
    fragments: ['grouped-query'],
  },
];
