/** The neighbourhood kernel's tiling plan: pure, so it is checked without a GPU, against several devices. */
import { describe, expect, it } from 'vitest';
import { SWIFTSHADER, WEBGPU_MINIMUM } from '../../helpers/limits';
import { AttentionError } from '../../../src/index';
import { localWorkgroupBytes, planNeighborhood } from '../../../src/ops/local/plan';
import type { NeighborhoodDims } from '../../../src/contract/neighborhood';

const dims = (Y: number, X: number, D: number, Dv = D): NeighborhoodDims => ({ B: 2, Hq: 4, Hkv: 2, Y, X, D, Dv });

describe('planNeighborhood', () => {
  it('fits a 13×13 kernel with D = Dv = 256 on the WebGPU minimum limits, as the shader header computes', () => {
    const plan = planNeighborhood(dims(64, 64, 256), [13, 13], [1, 1], WEBGPU_MINIMUM);
    expect(plan.tile).toEqual({ y: 4, x: 4 });
    expect(plan.chunkVec4).toBe(1);
    expect(plan.workgroupBytes).toBe(256 + 4096 + 10816);
    expect(plan.workgroupSize).toBeLessThanOrEqual(256);
    expect([plan.qkChunks, plan.vChunks]).toEqual([64, 64]);
    expect(plan.tiles).toEqual([16, 16]);
    expect(plan.workgroupCount).toBe(2 * 4 * 16 * 16);
  });

  it('fits every odd kernel up to 13×13 and every head dim up to 256 on the minimum limits', () => {
    for (let ky = 1; ky <= 13; ky += 2) {
      for (let kx = 1; kx <= 13; kx += 2) {
        for (const [D, Dv] of [
          [1, 1],
          [5, 7],
          [64, 64],
          [256, 256],
          [256, 3],
        ]) {
          const plan = planNeighborhood(dims(40, 40, D, Dv), [ky, kx], [1, 1], WEBGPU_MINIMUM);
          expect(plan.workgroupBytes).toBe(localWorkgroupBytes(plan.tile, [ky, kx], plan.chunkVec4));
          expect(plan.workgroupBytes).toBeLessThanOrEqual(16384);
          expect(plan.workgroupSize).toBeLessThanOrEqual(256);
          expect([1, 2, 4, 8, 16]).toContain(plan.chunkVec4);
          expect(plan.qkChunks * plan.chunkVec4 * 4).toBeGreaterThanOrEqual(D);
          expect(plan.vChunks * plan.chunkVec4 * 4).toBeGreaterThanOrEqual(Dv);
        }
      }
    }
  });

  it('prefers more queries per workgroup where memory allows, and the widest chunk for that tile', () => {
    expect(planNeighborhood(dims(64, 64, 32), [7, 7], [1, 1], SWIFTSHADER).tile).toEqual({ y: 8, x: 8 });
    expect(planNeighborhood(dims(64, 64, 32), [7, 7], [1, 1], SWIFTSHADER).chunkVec4).toBe(4);
    expect(planNeighborhood(dims(64, 64, 32), [7, 7], [1, 1], WEBGPU_MINIMUM).tile).toEqual({ y: 4, x: 8 });
    expect(planNeighborhood(dims(64, 64, 8), [3, 3], [1, 1], SWIFTSHADER).chunkVec4).toBe(2);
  });

  it('uses row tiles for 1-D (Y = 1) and does not use tiles far larger than a dilation group', () => {
    expect(planNeighborhood(dims(1, 1000, 16), [1, 7], [1, 1], SWIFTSHADER).tile).toEqual({ y: 1, x: 64 });
    expect(planNeighborhood(dims(1, 100, 16), [1, 9], [1, 5], SWIFTSHADER).tile).toEqual({ y: 1, x: 32 });
    // 13 × 17 with dilation 4: groups of at most 4 × 5 positions.
    const plan = planNeighborhood(dims(13, 17, 8), [3, 3], [4, 4], SWIFTSHADER);
    expect(plan.tile).toEqual({ y: 4, x: 8 });
    expect(plan.tiles).toEqual([1, 1]);
    expect(plan.workgroupCount).toBe(2 * 4 * 16);
  });

  it('uses few tile shapes on large maps (few distinct pipelines): 8×8, 4×8, 4×4, 1×64', () => {
    const seen = new Set<string>();
    for (const k of [1, 3, 5, 7, 9, 11, 13]) {
      for (const D of [8, 32, 64, 128, 256]) {
        for (const limits of [WEBGPU_MINIMUM, SWIFTSHADER]) {
          for (const [map, kernel] of [
            [dims(64, 64, D), [k, k]],
            [dims(1, 4096, D), [1, k]],
          ] as const) {
            const { tile } = planNeighborhood(map, kernel, [1, 1], limits);
            seen.add(`${tile.y}×${tile.x}`);
          }
        }
      }
    }
    expect([...seen].sort()).toEqual(['1×64', '4×4', '4×8', '8×8']);
  });

  it('refuses a kernel whose smallest configuration does not fit, naming the kernel and the limit', () => {
    expect(() => planNeighborhood(dims(64, 64, 8), [33, 33], [1, 1], WEBGPU_MINIMUM)).toThrow(AttentionError);
    expect(() => planNeighborhood(dims(64, 64, 8), [33, 33], [1, 1], WEBGPU_MINIMUM)).toThrow(
      /options\.kernel: got kernel 33×33.*16384 bytes/,
    );
  });
});
