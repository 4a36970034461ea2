/**
 * The pure plan of the KV cache (src/ops/kv-cache/plan.ts) and of a multi-head forward with a cache
 * (src/ops/multi-head/plan.ts): capacities, device limits, the copies an append or growth makes,
 * and where a cached forward's projections write. No GPU.
 */
import { describe, expect, it } from 'vitest';
import { AttentionError } from '../../../src/errors';
import { blockCopies, checkCapacity, maxCapacity, planCapacity } from '../../../src/ops/kv-cache/plan';
import { planMha, sliceLayout } from '../../../src/ops/multi-head/plan';
import { SWIFTSHADER, WEBGPU_MINIMUM } from '../../helpers/limits';

const sizes = { batch: 1, kvHeads: 8, headDim: 128, valueDim: 64, dtype: 'f32' as const };
const state = (length: number, capacity: number, growable = true) => ({ ...sizes, length, capacity, growable });

describe('KV cache capacity', () => {
  it('keeps the capacity while tokens fit, else doubles until they do', () => {
    expect(planCapacity(state(10, 16), 6, SWIFTSHADER, 'k')).toBe(16);
    expect(planCapacity(state(16, 16), 1, SWIFTSHADER, 'k')).toBe(32);
    expect(planCapacity(state(16, 16), 100, SWIFTSHADER, 'k')).toBe(128);
  });

  it('holds growth to one binding of the wider store, and refuses more, naming the argument', () => {
    // 128 MiB binding: 8 heads · 128 dims · 4 bytes = 4 KiB a token → 32768 tokens.
    expect(maxCapacity(sizes, WEBGPU_MINIMUM)).toBe(WEBGPU_MINIMUM.maxStorageBufferBindingSize / 4096);
    const most = maxCapacity(sizes, WEBGPU_MINIMUM);
    expect(planCapacity(state(most - 1, most / 2 + 1), 1, WEBGPU_MINIMUM, 'x')).toBe(most);
    expect(() => planCapacity(state(most, most), 1, WEBGPU_MINIMUM, 'x')).toThrow(AttentionError);
    try {
      planCapacity(state(most, most), 1, WEBGPU_MINIMUM, 'x');
    } catch (e) {
      expect((e as AttentionError).argument).toBe('x');
      expect((e as AttentionError).message).toContain(`at most ${most} tokens`);
    }
    expect(() => checkCapacity(sizes, most + 1, WEBGPU_MINIMUM, 'options.capacity')).toThrow(/options.capacity/);
    expect(() => checkCapacity(sizes, most, WEBGPU_MINIMUM, 'options.capacity')).not.toThrow();
  });

  it('an f16 cache holds twice the tokens in the same binding, and says f16 when refusing', () => {
    const halves = { ...sizes, dtype: 'f16' as const };
    const most = maxCapacity(halves, WEBGPU_MINIMUM);
    expect(most).toBe(2 * maxCapacity(sizes, WEBGPU_MINIMUM));
    expect(() => checkCapacity(halves, most, WEBGPU_MINIMUM, 'options.capacity')).not.toThrow();
    expect(() => checkCapacity(halves, most + 1, WEBGPU_MINIMUM, 'options.capacity')).toThrow(/options.capacity/);
    expect(() =>
      planCapacity({ ...halves, length: most, capacity: most, growable: true }, 1, WEBGPU_MINIMUM, 'k'),
    ).toThrow(/capacity, max\(D, Dv\)\] of f16 must fit/);
  });
});

describe('KV cache copies', () => {
  it('an append: one copy per (batch, head) into its block at the held length', () => {
    // [1, 2, 8, 4] store holding 3; one token from a tensor at byte 64
    expect(blockCopies(2, 4, 1, { byteOffset: 64, rows: 1 }, { byteOffset: 0, rows: 8 }, 3)).toEqual([
      { from: 64, to: 48, bytes: 16 },
      { from: 80, to: 176, bytes: 16 },
    ]);
  });

  it('ranges that continue each other merge: a full store copies in one range', () => {
    expect(blockCopies(6, 4, 8, { byteOffset: 0, rows: 8 }, { byteOffset: 0, rows: 8 }, 0)).toEqual([
      { from: 0, to: 0, bytes: 6 * 8 * 16 },
    ]);
    // growth 4 → 8 holding 4: one range per block
    expect(blockCopies(3, 2, 4, { byteOffset: 0, rows: 4 }, { byteOffset: 0, rows: 8 }, 0)).toHaveLength(3);
  });

  it('f16 stores: 2 bytes an element, and with even dims every range is whole 4-byte words', () => {
    // [1, 2, 8, 6] f16 store holding 3; one token from a tensor at byte 64
    const ranges = blockCopies(2, 6, 1, { byteOffset: 64, rows: 1 }, { byteOffset: 0, rows: 8 }, 3, 2);
    expect(ranges).toEqual([
      { from: 64, to: 36, bytes: 12 },
      { from: 76, to: 132, bytes: 12 },
    ]);
    for (const r of blockCopies(3, 2, 5, { byteOffset: 0, rows: 5 }, { byteOffset: 0, rows: 7 }, 1, 2))
      expect([r.from % 4, r.to % 4, r.bytes % 4]).toEqual([0, 0, 0]);
  });
});

describe('planMha with a cache', () => {
  const w = { weight: 'W', row: 0, rows: 0, inDim: 64 };
  const config = {
    embedDim: 64,
    numHeads: 8,
    numKvHeads: 2,
    headDim: 8,
    kdim: 64,
    vdim: 64,
    packed: true,
    q: { ...w, rows: 64 },
    k: { ...w, row: 64, rows: 16 },
    v: { ...w, row: 80, rows: 16 },
    o: { ...w, rows: 64 },
    rotary: { base: 10000, dim: 8, interleaved: false, positionOffset: 3 },
  };
  const call = { B: 2, L: 1, Lk: 11, selfAttention: true, cache: {}, pastLength: 10 } as never;

  it('three GEMMs even for packed weights: Q apart, K and V into the stores at the cached length', () => {
    const plan = planMha(config, call, 16);
    expect(plan.steps.map((s) => [s.row, s.N, s.M, s.out.buffer, s.rotaryColumns, s.position])).toEqual([
      [0, 64, 2, 'q', 64, 13],
      [64, 16, 2, 'keys', 16, 13],
      [80, 16, 2, 'values', 0, 13],
    ]);
    expect(plan.bufferElements).toEqual({ q: 2 * 1 * 8 * 8 });
    expect(plan.rotaryPositions).toBe(14);
    // keys written at token 10 of each [capacity 16, headDim 8] block; read from token 0, 11 tokens
    expect(sliceLayout(plan.steps[1].out, 8)).toEqual({ elementOffset: 80, strides: [2 * 16 * 8, 128, 8] });
    expect([plan.k.length, sliceLayout(plan.k, 8).elementOffset]).toEqual([11, 0]);
  });
});
