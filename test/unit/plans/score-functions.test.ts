/** Plans of the score functions (additive, multiplicative): pure, checked without a GPU against several devices. */
import { describe, expect, it } from 'vitest';
import { SWIFTSHADER, WEBGPU_MINIMUM } from '../../helpers/limits';
import { AttentionError } from '../../../src/index';
import type { ScoreDims } from '../../../src/contract/score-functions';
import {
  ADDITIVE_TILES,
  additiveWorkgroupBytes,
  planAdditive,
  WEIGHTS_WORKGROUP_SIZE,
} from '../../../src/ops/score-functions/plan-additive';
import { planMultiplicative } from '../../../src/ops/score-functions/plan-multiplicative';

const DIMS: ScoreDims = { B: 2, Lq: 77, Lk: 50, Dq: 40, Dk: 24, Dv: 40, A: 24 };

describe('planAdditive', () => {
  it('takes 32 × 32 tiles on a 32 KiB device, with the header’s workgroup bytes', () => {
    const plan = planAdditive(DIMS, SWIFTSHADER, false);
    expect(plan.tile).toEqual({ blockQ: 32, tileKv: 32 });
    expect([plan.attDimVec4, plan.valueDimVec4, plan.kvStride]).toEqual([6, 10, 11]);
    expect(plan.workgroupSize).toBe(64);
    // 16·32·6 + 16·32·11 + 4·32·32 + 16·32·10 + 16·6 + 12·32
    expect(plan.workgroupBytes).toBe(3072 + 5632 + 4096 + 5120 + 96 + 384);
    expect(plan.qBlocks).toBe(3);
    expect(plan.workgroups).toEqual([6, 1, 1]);
    expect(plan.weights).toBeNull();
    expect(plan.projectQ.tiles).toBeGreaterThan(0);
    expect(plan.projectK.tiles).toBeGreaterThan(0);
  });

  it('writes the header’s formula for every tiling, and every tiling is a whole number of 4 × 4 blocks', () => {
    for (const t of ADDITIVE_TILES) {
      expect(t.blockQ % 4).toBe(0);
      expect(t.tileKv % 4).toBe(0);
      const stride = 17; // A = 64, Dv = 64: 16 vec4s, made odd
      const want = 16 * t.blockQ * 16 + 16 * t.tileKv * stride + 4 * t.tileKv * t.blockQ + 16 * t.blockQ * 16;
      expect(additiveWorkgroupBytes(t, 16, 16)).toBe(want + 16 * 16 + 12 * t.blockQ);
    }
  });

  it('fits WebGPU’s minimum limits for A and Dv up to 256', () => {
    for (const A of [1, 7, 24, 64, 128, 256]) {
      for (const Dv of [1, 40, 256]) {
        const plan = planAdditive({ ...DIMS, A, Dv }, WEBGPU_MINIMUM, true);
        expect(plan.workgroupBytes).toBeLessThanOrEqual(16384);
        expect(plan.workgroupSize).toBeLessThanOrEqual(256);
        expect(plan.kvStride % 2).toBe(1);
        expect(plan.kvStride).toBeGreaterThanOrEqual(Math.max(plan.attDimVec4, plan.valueDimVec4));
      }
    }
  });

  it('takes a block no larger than the queries need', () => {
    expect(planAdditive({ ...DIMS, Lq: 1 }, SWIFTSHADER, false).tile.blockQ).toBe(4);
    expect(planAdditive({ ...DIMS, Lq: 9 }, SWIFTSHADER, false).tile.blockQ).toBe(8);
  });

  it('plans the weights pass: one invocation per weight, folded past the per-dimension limit', () => {
    const plan = planAdditive(DIMS, SWIFTSHADER, true);
    expect(plan.weights!.elements).toBe(2 * 77 * 50);
    expect(plan.weights!.workgroups).toEqual([Math.ceil((2 * 77 * 50) / WEIGHTS_WORKGROUP_SIZE), 1, 1]);
    const folded = planAdditive(
      { ...DIMS, Lq: 1000, Lk: 1000 },
      { ...SWIFTSHADER, maxComputeWorkgroupsPerDimension: 1000 },
      true,
    );
    expect(folded.weights!.workgroups[1]).toBeGreaterThan(1);
  });

  it('refuses what the device cannot hold, naming the argument', () => {
    const tiny = { ...WEBGPU_MINIMUM, maxComputeWorkgroupStorageSize: 1024 };
    expect(() => planAdditive(DIMS, tiny, false)).toThrow(/options\.wq: got attention dim A = 24 with Dv = 40/);
    const small = { ...SWIFTSHADER, maxStorageBufferBindingSize: 4 * 2 * 77 * 24 - 4 };
    const refused = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof AttentionError ? e.argument : 'not an AttentionError';
      }
      return 'accepted';
    };
    expect(refused(() => planAdditive(DIMS, small, false))).toBe('q'); // pq [B·Lq, A]
    const noWeights = { ...SWIFTSHADER, maxStorageBufferBindingSize: 4 * 2 * 77 * 50 - 4 };
    expect(refused(() => planAdditive({ ...DIMS, A: 4 }, noWeights, false))).toBe('accepted');
    expect(refused(() => planAdditive({ ...DIMS, A: 4 }, noWeights, true))).toBe('options.returnWeights');
  });
});

describe('planMultiplicative', () => {
  const call = { scale: 0.5, causal: true, returnWeights: false };

  it('projects the keys to Dq, then plans the flash kernel of one head with sdpa’s defaults', () => {
    const plan = planMultiplicative(DIMS, call, SWIFTSHADER);
    expect(plan.dims).toEqual({ B: 2, Hq: 1, Hkv: 1, Lq: 77, Lk: 50, D: 40, Dv: 40 });
    expect(plan.options).toMatchObject({ scale: 0.5, causal: true, offset: 0, softcap: 0, layout: 'bhsd' });
    expect('flash' in plan.attention).toBe(true);
    expect(plan.projectK.tiles).toBe(
      Math.ceil(100 / plan.projectK.tile.tileM) * Math.ceil(40 / plan.projectK.tile.tileN),
    );
  });

  it('splits the keys of a decoding-shaped call (one query, 700 keys) as sdpa does', () => {
    const plan = planMultiplicative({ ...DIMS, Lq: 1, Lk: 700 }, call, SWIFTSHADER);
    expect('flash' in plan.attention && plan.attention.flash.kvSplits).toBeGreaterThan(1);
  });

  it('takes the naive passes with returnWeights, and refuses scores that cannot exist there', () => {
    expect('naive' in planMultiplicative(DIMS, { ...call, returnWeights: true }, SWIFTSHADER).attention).toBe(true);
    const small = { ...SWIFTSHADER, maxStorageBufferBindingSize: 4 * 2 * 77 * 50 - 4 };
    expect(() => planMultiplicative(DIMS, call, small)).not.toThrow();
    expect(() => planMultiplicative(DIMS, { ...call, returnWeights: true }, small)).toThrow(/options\.returnWeights/);
  });

  it('refuses projected keys past one binding, on k', () => {
    const small = { ...SWIFTSHADER, maxStorageBufferBindingSize: 4 * 2 * 50 * 40 - 4 };
    expect(() => planMultiplicative(DIMS, call, small)).toThrow(/^k: /);
  });
});
