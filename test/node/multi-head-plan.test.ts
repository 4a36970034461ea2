/**
 * The pure plan of a multi-head-attention forward (src/ops/multi-head-plan.ts): which GEMMs make
 * Q, K and V and where they write. No GPU.
 */
import { describe, expect, it } from 'vitest';
import { planMha } from '../../src/ops/multi-head-plan';

describe('planMha (where the projections write)', () => {
  const w = { weight: 'W', row: 0, rows: 0, inDim: 64 };
  const config = (packed: boolean) => ({
    embedDim: 64,
    numHeads: 8,
    numKvHeads: 2,
    headDim: 8,
    kdim: 64,
    vdim: 64,
    packed,
    q: { ...w, rows: 64 },
    k: { ...w, row: 64, rows: 16 },
    v: { ...w, row: 80, rows: 16 },
    o: { ...w, rows: 64 },
    rotary: { base: 10000, dim: 8, interleaved: false, positionOffset: 3 },
  });
  const call = (selfAttention: boolean) => ({ B: 2, L: 5, Lk: selfAttention ? 5 : 9, selfAttention }) as never;
  it('packed self-attention: one GEMM of (8 + 2·2)·8 columns into [B, L, 12, 8], rotary on q and k columns', () => {
    const plan = planMha(config(true), call(true));
    expect(plan.steps.map((s) => [s.row, s.N, s.M, s.K, s.rotaryColumns])).toEqual([[0, 96, 10, 64, 80]]);
    expect([plan.q.firstHead, plan.k.firstHead, plan.v.firstHead, plan.v.heads]).toEqual([0, 8, 10, 12]);
    expect(plan.bufferElements).toEqual({ qkv: 2 * 5 * 12 * 8 });
    expect(plan.rotaryPositions).toBe(8);
  });
  it('separate self-attention: three GEMMs into the same buffer; cross-attention: Q apart, K and V in one buffer', () => {
    expect(
      planMha(config(false), call(true)).steps.map((s) => [s.out.buffer, s.out.firstHead, s.rotaryColumns]),
    ).toEqual([
      ['qkv', 0, 64],
      ['qkv', 8, 16],
      ['qkv', 10, 0],
    ]);
    const cross = planMha(config(true), call(false));
    expect(cross.steps.map((s) => [s.input, s.row, s.N, s.M, s.out.buffer, s.out.firstHead])).toEqual([
      ['query', 0, 64, 10, 'q', 0],
      ['key', 64, 16, 18, 'kv', 0],
      ['value', 80, 16, 18, 'kv', 2],
    ]);
    expect(cross.rotaryPositions).toBe(12);
  });
});
