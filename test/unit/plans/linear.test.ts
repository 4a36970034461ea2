/** The GEMM kernel's tiling plan: pure, so it is checked without a GPU, against several devices. */
import { describe, expect, it } from 'vitest';
import { SWIFTSHADER, WEBGPU_MINIMUM } from '../../helpers/limits';
import { AttentionError } from '../../../src/index';
import { linearDims } from '../../../src/contract/linear';
import { MATMUL_TILES, matmulWorkgroupBytes, planMatmul, SHORT_M } from '../../../src/ops/linear/plan';

describe('planMatmul', () => {
  it('uses 64 × 64 tiles with 32-wide K steps on a 32 KiB device, as the shader header computes', () => {
    const plan = planMatmul({ M: 512, N: 768, K: 768 }, SWIFTSHADER);
    expect(plan.tile).toEqual({ tileM: 64, tileN: 64, tileK: 32 });
    expect(plan.kStride).toBe(9);
    expect(plan.workgroupSize).toBe(256);
    expect(plan.workgroupBytes).toBe(9216 + 9216);
    expect(plan.tilesN).toBe(12);
    expect(plan.tiles).toBe(8 * 12);
    expect(plan.workgroups).toEqual([96, 1, 1]);
  });

  it('fits the WebGPU minimum limits (16 KiB, 256 invocations) for every shape', () => {
    for (const M of [1, 7, 16, 17, 64, 1000]) {
      for (const N of [1, 65, 4096]) {
        const plan = planMatmul({ M, N, K: 300 }, WEBGPU_MINIMUM);
        expect(plan.workgroupBytes).toBeLessThanOrEqual(16384);
        expect(plan.workgroupSize).toBeLessThanOrEqual(256);
        expect(plan.kStride % 2).toBe(1);
      }
    }
    expect(planMatmul({ M: 512, N: 768, K: 768 }, WEBGPU_MINIMUM).tile).toEqual({ tileM: 64, tileN: 64, tileK: 16 });
  });

  it('takes short-M tiles for decoding-sized M', () => {
    expect(planMatmul({ M: 1, N: 768, K: 768 }, SWIFTSHADER).tile.tileM).toBeLessThanOrEqual(SHORT_M);
    expect(planMatmul({ M: SHORT_M + 1, N: 768, K: 768 }, SWIFTSHADER).tile.tileM).toBe(64);
  });

  it('writes the workgroup bytes formula of the header: 16·(TILE_M + TILE_N)·(TILE_K/4 + 1)', () => {
    expect(matmulWorkgroupBytes({ tileM: 64, tileN: 64, tileK: 16 })).toBe(10240);
    for (const t of MATMUL_TILES) {
      expect(matmulWorkgroupBytes(t)).toBe(16 * (t.tileM + t.tileN) * (t.tileK / 4 + 1));
      for (const side of [t.tileM, t.tileN, t.tileK]) expect(side % 4).toBe(0);
    }
  });

  it('folds the grid into y past the per-dimension limit, and refuses what cannot fold', () => {
    const small = { ...SWIFTSHADER, maxComputeWorkgroupsPerDimension: 10 };
    const plan = planMatmul({ M: 64 * 25, N: 64, K: 4 }, small);
    expect(plan.tiles).toBe(25);
    expect(plan.workgroups).toEqual([9, 3, 1]);
    expect(() => planMatmul({ M: 64 * 101, N: 64, K: 4 }, small)).toThrow(AttentionError);
  });

  it('refuses a device whose smallest tiling does not fit', () => {
    const tiny = { ...WEBGPU_MINIMUM, maxComputeWorkgroupStorageSize: 512 };
    expect(() => planMatmul({ M: 8, N: 8, K: 8 }, tiny)).toThrow(/tiling that fits this device \(512 bytes/);
  });
});

describe('linearDims', () => {
  it('flattens leading dims into M and keeps them in the output shape', () => {
    expect(linearDims([2, 5, 8], [3, 8], [3])).toEqual({ M: 10, N: 3, K: 8, outputShape: [2, 5, 3] });
    expect(linearDims([8], [3, 8])).toEqual({ M: 1, N: 3, K: 8, outputShape: [3] });
  });
  it('names the argument at fault', () => {
    const argumentOf = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as AttentionError).argument;
      }
      return null;
    };
    expect(argumentOf(() => linearDims([], [3, 8]))).toBe('x');
    expect(argumentOf(() => linearDims([2, 8], [3, 7]))).toBe('weight');
    expect(argumentOf(() => linearDims([2, 8], [3, 8], [4]))).toBe('bias');
  });
});
