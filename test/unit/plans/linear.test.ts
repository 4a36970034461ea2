/** The GEMM kernel's tiling plan: pure, so it is checked without a GPU, against several devices. */
import { describe, expect, it } from 'vitest';
import { SWIFTSHADER, WEBGPU_MINIMUM } from '../../helpers/limits';
import { AttentionError } from '../../../src/index';
import { linearDims } from '../../../src/contract/linear';
import {
  MATMUL_TILES,
  matmulTileFits,
  matmulWorkgroupBytes,
  matmulWorkgroupSize,
  planMatmul,
  SHORT_M,
  SHORT_M_TILES,
} from '../../../src/ops/linear/plan';
import {
  isLinearTile,
  LINEAR_CLASSES,
  LINEAR_TUNE_TILES,
  linearClass,
  linearTuneCandidates,
} from '../../../src/ops/linear/plan-tuning';

describe('planMatmul', () => {
  it('uses 64 × 64 tiles of 8 × 8 outputs per invocation with 32-wide K steps on a 32 KiB device, as the shader header computes', () => {
    const plan = planMatmul({ M: 512, N: 768, K: 768 }, SWIFTSHADER);
    expect(plan.tile).toEqual({ tileM: 64, tileN: 64, tileK: 32, rowBlocks: 2, colBlocks: 2 });
    expect(plan.kStride).toBe(9);
    expect(plan.workgroupSize).toBe(64);
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
    expect(planMatmul({ M: 512, N: 768, K: 768 }, WEBGPU_MINIMUM).tile).toEqual({
      tileM: 64,
      tileN: 64,
      tileK: 16,
      rowBlocks: 2,
      colBlocks: 2,
    });
  });

  it('takes the short-M tile that covers decoding-sized M', () => {
    const tileOf = (M: number) => planMatmul({ M, N: 768, K: 768 }, SWIFTSHADER).tile;
    expect(tileOf(1)).toEqual({ tileM: 4, tileN: 64, tileK: 32, rowBlocks: 1, colBlocks: 2 });
    expect(tileOf(4).tileM).toBe(4);
    expect(tileOf(5)).toEqual({ tileM: 8, tileN: 64, tileK: 32, rowBlocks: 2, colBlocks: 1 });
    expect(tileOf(8).tileM).toBe(8);
    expect(tileOf(9)).toEqual({ tileM: 16, tileN: 64, tileK: 32, rowBlocks: 2, colBlocks: 2 });
    expect(tileOf(SHORT_M).tileM).toBe(16);
    expect(tileOf(SHORT_M + 1).tileM).toBe(64);
  });

  it('writes the header formulas: bytes 16·(TILE_M + TILE_N)·(TILE_K/4 + 1), invocations per 4·blocks', () => {
    expect(matmulWorkgroupBytes({ tileM: 64, tileN: 64, tileK: 16, rowBlocks: 2, colBlocks: 2 })).toBe(10240);
    expect(matmulWorkgroupBytes({ tileM: 4, tileN: 64, tileK: 32, rowBlocks: 1, colBlocks: 2 })).toBe(9792);
    for (const t of [...MATMUL_TILES, ...SHORT_M_TILES, ...LINEAR_TUNE_TILES]) {
      expect(matmulWorkgroupBytes(t)).toBe(16 * (t.tileM + t.tileN) * (t.tileK / 4 + 1));
      expect(matmulWorkgroupSize(t)).toBe((t.tileM / (4 * t.rowBlocks)) * (t.tileN / (4 * t.colBlocks)));
      expect(t.tileK % 4).toBe(0);
      expect(t.tileM % (4 * t.rowBlocks)).toBe(0);
      expect(t.tileN % (4 * t.colBlocks)).toBe(0);
    }
  });

  it('prefers a tuned tiling where it fits, and falls back to the default order where it does not', () => {
    const tuned = { tileM: 128, tileN: 64, tileK: 32, rowBlocks: 2, colBlocks: 2 } as const;
    expect(planMatmul({ M: 512, N: 768, K: 768 }, SWIFTSHADER, 'x', undefined, tuned).tile).toEqual(tuned);
    expect(planMatmul({ M: 512, N: 768, K: 768 }, WEBGPU_MINIMUM, 'x', undefined, tuned).tile.tileM).toBe(64);
    expect(() => planMatmul({ M: 5, N: 5, K: 5 }, WEBGPU_MINIMUM, 'x', tuned)).toThrow(AttentionError);
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

describe('GEMM tuning classes and candidates', () => {
  it('buckets M into the classes a tuning names', () => {
    expect([1, 4, 5, 8, 9, 16, 17, 4096].map(linearClass)).toEqual([
      'linear M<=4',
      'linear M<=4',
      'linear M<=8',
      'linear M<=8',
      'linear M<=16',
      'linear M<=16',
      'linear M>16',
      'linear M>16',
    ]);
    expect(LINEAR_CLASSES).toEqual(['linear M<=4', 'linear M<=8', 'linear M<=16', 'linear M>16']);
  });

  it('times only tilings that fit, short-M ones for decoding, and always the default among them', () => {
    for (const limits of [SWIFTSHADER, WEBGPU_MINIMUM]) {
      for (const M of [1, 7, 16, 17, 4096]) {
        const candidates = linearTuneCandidates(M, limits);
        expect(candidates.every((t) => matmulTileFits(t, limits) && isLinearTile(t))).toBe(true);
        expect(candidates).toContainEqual(planMatmul({ M, N: 64, K: 64 }, limits).tile);
        if (M <= SHORT_M) expect(candidates.every((t) => t.tileM <= SHORT_M)).toBe(true);
      }
    }
    expect(linearTuneCandidates(4096, WEBGPU_MINIMUM).some((t) => t.tileM === 128 && t.tileN === 64)).toBe(false);
  });

  it('recognises only the listed tilings (as JSON gives them back)', () => {
    expect(isLinearTile(JSON.parse(JSON.stringify(MATMUL_TILES[0])))).toBe(true);
    expect(isLinearTile({ ...MATMUL_TILES[0], rowBlocks: 3 })).toBe(false);
    expect(isLinearTile({ tileM: 64, tileN: 64, tileK: 32 })).toBe(false);
    expect(isLinearTile(null)).toBe(false);
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
