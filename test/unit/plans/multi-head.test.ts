/**
 * The pure plan of a multi-head-attention forward (src/ops/multi-head-plan.ts): which GEMMs make
 * Q, K and V and where they write. No GPU.
 */
import { describe, expect, it } from 'vitest';
import { AttentionError } from '../../../src/errors';
import { planLayer, planMha } from '../../../src/ops/multi-head/plan';
import { SWIFTSHADER, WEBGPU_MINIMUM } from '../../helpers/limits';

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

  describe('planLayer (the kernels of one forward, checked against the device)', () => {
    const forward = (needWeights: boolean, L = 5) =>
      ({
        B: 2,
        L,
        Lk: L,
        selfAttention: true,
        needWeights,
        sdpaDims: { B: 2, Hq: 8, Hkv: 2, Lq: L, Lk: L, D: 8, Dv: 8 },
      }) as never;
    it('plans the flash kernel, or the naive passes when the weights are asked for', () => {
      const flash = planLayer(config(true), forward(false), SWIFTSHADER);
      expect('flash' in flash.attention).toBe(true);
      expect(flash.projections).toHaveLength(1);
      expect([flash.outProjection.workgroups[0], flash.outProjection.tile.tileM]).toEqual([1, 16]); // M = 10 rows, N = 64
      const naive = planLayer(config(true), forward(true), SWIFTSHADER);
      expect('naive' in naive.attention && naive.attention.naive.scoreElements).toBe(2 * 8 * 5 * 5);
    });
    it('refuses weights that cannot be materialised, naming options.needWeights', () => {
      const call = () => planLayer(config(true), forward(true, 8192), WEBGPU_MINIMUM);
      expect(call).toThrow(AttentionError);
      expect(call).toThrow(/^options\.needWeights: /);
    });
  });
});
