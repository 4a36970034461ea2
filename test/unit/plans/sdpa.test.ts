/** The flash kernel's tiling plan: pure, so it is checked without a GPU, against several devices. */
import { describe, expect, it } from 'vitest';
import { SWIFTSHADER, WEBGPU_MINIMUM } from '../../helpers/limits';
import { AttentionError } from '../../../src/index';
import { planSdpa, TILE_PREFERENCES, workgroupBytes } from '../../../src/ops/sdpa/plan';

const dims = (D: number, Dv = D, Lq = 1024) => ({ B: 1, Hq: 8, Hkv: 8, Lq, Lk: 1024, D, Dv });

describe('planSdpa', () => {
  it('uses 32 × 32 tiles for D = 64 on a 32 KiB device, as the shader header computes', () => {
    const plan = planSdpa(dims(64), SWIFTSHADER);
    expect(plan.tile).toEqual({ blockQ: 32, tileKv: 32 });
    expect(plan.kvStride).toBe(17);
    expect(plan.workgroupSize).toBe(128);
    expect(plan.workgroupBytes).toBe(8192 + 8704 + 4096 + 384);
    expect(plan.workgroupCount).toBe(32 * 8);
  });

  it('fits every head dim from 1 to 256 on the WebGPU default limits (16 KiB, 256 invocations)', () => {
    for (let D = 1; D <= 256; D++) {
      for (const Dv of [1, D, 256]) {
        const plan = planSdpa(dims(D, Dv), WEBGPU_MINIMUM);
        expect(plan.workgroupBytes).toBeLessThanOrEqual(16384);
        expect(plan.workgroupSize).toBeLessThanOrEqual(256);
        expect(plan.kvStride % 2).toBe(1);
        expect(plan.kvStride).toBeGreaterThanOrEqual(Math.max(Math.ceil(D / 4), Math.ceil(Dv / 4)));
      }
    }
  });

  it('shrinks tiles for large head dims and uses small query blocks for decoding', () => {
    expect(planSdpa(dims(256), SWIFTSHADER).tile.blockQ).toBeLessThanOrEqual(16);
    expect(planSdpa(dims(64, 64, 1), SWIFTSHADER).tile.blockQ).toBe(4);
  });

  it('honours a forced tile and refuses one that does not fit', () => {
    expect(planSdpa(dims(64), SWIFTSHADER, { blockQ: 16, tileKv: 16 }).tile).toEqual({ blockQ: 16, tileKv: 16 });
    const tiny = { ...WEBGPU_MINIMUM, maxComputeWorkgroupStorageSize: 1024 };
    expect(() => planSdpa(dims(256), tiny)).toThrow(AttentionError);
  });

  it('lists tiles whose sizes are multiples of 4 (the register block)', () => {
    for (const t of TILE_PREFERENCES) {
      expect(t.blockQ % 4).toBe(0);
      expect(t.tileKv % 4).toBe(0);
    }
    expect(workgroupBytes({ blockQ: 4, tileKv: 4 }, 64, 65)).toBeLessThan(16384);
  });
});
