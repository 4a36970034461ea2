/** The flash kernel's tiling plan: pure, so it is checked without a GPU, against several devices. */
import { describe, expect, it } from 'vitest';
import { SWIFTSHADER, WEBGPU_MINIMUM } from '../../helpers/limits';
import { AttentionError } from '../../../src/index';
import { planSdpa, pvBlock, qkBlock, TILE_PREFERENCES, workgroupBytes } from '../../../src/ops/sdpa/plan';

const dims = (D: number, Dv = D, Lq = 1024) => ({ B: 1, Hq: 8, Hkv: 8, Lq, Lk: 1024, D, Dv });

describe('planSdpa', () => {
  it('uses 32 × 32 tiles for D = 64 on a 32 KiB device, as the shader header computes', () => {
    const plan = planSdpa(dims(64), SWIFTSHADER);
    expect(plan.tile).toEqual({ blockQ: 32, tileKv: 32 });
    expect(plan.kvStride).toBe(17);
    expect(plan.workgroupSize).toBe(32); // (32 rows / 8 per invocation) × (16 column vec4s / 2 per invocation)
    expect(plan.workgroupBytes).toBe(8192 + 8704 + 4096 + 416 + 4);
    expect(plan.qBlocks).toBe(32);
    expect(plan.blockGroups).toBe(16); // paired blocks: 16 × 8 = 128 workgroups still fill TARGET_WORKGROUPS
    expect(plan.workgroupCount).toBe(16 * 8);
  });

  it('pairs blocks only where half the workgroups still number 128, with one split and no top-k', () => {
    expect(planSdpa(dims(64), SWIFTSHADER).blockGroups).toBe(16); // 8 heads × 32 blocks
    const fewHeads = { ...dims(64), Hq: 4, Hkv: 4 }; // 4 × 32 blocks: 64 pairs would leave a GPU half idle
    expect(planSdpa(fewHeads, SWIFTSHADER).blockGroups).toBe(32);
    const odd = { ...dims(64, 64, 1000), Hq: 12, Hkv: 12 }; // 32 blocks (the last partial): pairs 0–31 … 15–16
    expect(planSdpa(odd, SWIFTSHADER).blockGroups).toBe(16);
    const oddBlocks = { ...dims(64, 64, 33 * 32), Hq: 12, Hkv: 12 }; // 33 blocks: 16 pairs and the middle one alone
    expect(planSdpa(oddBlocks, SWIFTSHADER).blockGroups).toBe(17);
    expect(planSdpa(dims(64, 64, 1), SWIFTSHADER).blockGroups).toBe(1); // decoding: split keys, no pair
    const topK = planSdpa(dims(64), SWIFTSHADER, undefined, 'q', { normalization: 'softmax', topK: 4 });
    expect(topK.blockGroups).toBe(topK.qBlocks);
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

  it('sizes f16 tiles at half the bytes, so larger tilings fit (D = 128 on 32 KiB, D = 64 on 16 KiB)', () => {
    expect(planSdpa(dims(128), SWIFTSHADER).tile).toEqual({ blockQ: 32, tileKv: 16 });
    const half = planSdpa(dims(128), SWIFTSHADER, undefined, 'q', undefined, true);
    expect(half.tile).toEqual({ blockQ: 32, tileKv: 32 });
    expect(half.workgroupBytes).toBe(8 * 32 * 32 + 8 * 32 * 33 + 4096 + 416 + 4);
    expect(planSdpa(dims(64), WEBGPU_MINIMUM).tile).toEqual({ blockQ: 32, tileKv: 16 });
    expect(planSdpa(dims(64), WEBGPU_MINIMUM, undefined, 'q', undefined, true).tile).toEqual({
      blockQ: 32,
      tileKv: 32,
    });
    for (let D = 1; D <= 256; D++) {
      expect(planSdpa(dims(D), WEBGPU_MINIMUM, undefined, 'q', undefined, true).workgroupBytes).toBeLessThanOrEqual(
        16384,
      );
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

  it('gives each P·V invocation 8 rows × 2 column vec4s where Dv pairs up, with as many invocations as 16 × 1', () => {
    expect(pvBlock({ blockQ: 32, tileKv: 32 }, 16)).toEqual({ rows: 8, cols: 2 });
    expect(pvBlock({ blockQ: 32, tileKv: 32 }, 9)).toEqual({ rows: 16, cols: 1 }); // Dv = 36: 9 vec4s
    expect(pvBlock({ blockQ: 8, tileKv: 32 }, 16)).toEqual({ rows: 8, cols: 1 }); // decoding keeps its invocations
    expect(pvBlock({ blockQ: 4, tileKv: 32 }, 16)).toEqual({ rows: 4, cols: 1 });
    expect(planSdpa(dims(64), SWIFTSHADER).workgroupSize).toBe(32); // (32 / 8) × (16 / 2)
    expect(planSdpa(dims(64, 36), SWIFTSHADER).workgroupSize).toBe(18); // (32 / 16) × 9
  });

  it('computes Q·Kᵀ in 8 × 8 blocks (whole, or shared by invocation pairs) only where no invocation idles', () => {
    const qk = (D: number, Dv = D, Lq = 1024) => {
      const plan = planSdpa(dims(D, Dv, Lq), SWIFTSHADER);
      return qkBlock(plan.tile, plan.workgroupSize);
    };
    const [whole, pairs, small] = [
      { side: 8, pairs: false },
      { side: 8, pairs: true },
      { side: 4, pairs: false },
    ];
    expect(qk(64)).toEqual(pairs); // 32 × 32 tiles, 16 blocks of 8 × 8, 32 invocations
    expect(qk(36, 64)).toEqual(pairs); // the invocations follow Dv; d (9 vec4s) splits 4 / 5
    expect(qk(32)).toEqual(whole); // 16 blocks, 16 invocations
    expect(qk(16)).toEqual(whole); // 16 blocks, 8 invocations: two each
    expect(qk(128)).toEqual(small); // 32 × 16 tiles: 8 blocks for 64 invocations
    expect(qk(64, 64, 1)).toEqual(small); // decoding's 4-row blocks
    expect(qkBlock({ blockQ: 8, tileKv: 32 }, 16)).toEqual(small); // 4 blocks for 16 invocations
    expect(qkBlock({ blockQ: 8, tileKv: 8 }, 2)).toEqual(pairs);
    expect(qkBlock({ blockQ: 4, tileKv: 32 }, 8)).toEqual(small); // rows not a multiple of 8
  });

  describe('grouped-query rows and split-K (decoding)', () => {
    const decode = (Hq: number, Hkv: number, Lq: number, Lk: number, B = 1) => ({
      B,
      Hq,
      Hkv,
      Lq,
      Lk,
      D: 128,
      Dv: 128,
    });

    it('packs the query heads of a kv head into one block: 32/8 heads, one query → 4-row blocks, one per kv head', () => {
      const plan = planSdpa(decode(32, 8, 1, 1024), SWIFTSHADER);
      expect([plan.groupRows, plan.tile.blockQ, plan.qBlocks]).toEqual([4, 4, 1]);
      const mqa = planSdpa(decode(32, 1, 1, 1024), SWIFTSHADER); // 32 rows share one K/V stream
      expect([mqa.groupRows, mqa.qBlocks]).toEqual([32, 32 / mqa.tile.blockQ]);
    });

    it('splits the keys of few blocks across workgroups, each split at least 4 key tiles', () => {
      // 8 blocks (B·Hkv) of 1024 keys in tiles of 32 (D = 128 fits 4 × 32 here): 32 tiles → 8 splits of 4.
      const plan = planSdpa(decode(32, 8, 1, 1024), SWIFTSHADER);
      const tiles = Math.ceil(1024 / plan.tile.tileKv);
      expect(plan.kvSplits).toBe(Math.min(Math.ceil(128 / 8), Math.floor(tiles / 4)));
      expect(plan.tilesPerSplit * plan.kvSplits).toBeGreaterThanOrEqual(tiles);
      expect(plan.tilesPerSplit * (plan.kvSplits - 1)).toBeLessThan(tiles); // no empty split
      expect(plan.workgroupCount).toBe(8 * plan.kvSplits);
      // The merge: one invocation per output element, 32 heads × 128 columns, and the partials' size.
      expect(plan.merge).toEqual({ workgroups: [16, 1, 1], partialElements: 32 * plan.kvSplits * 128 });
    });

    it('does not split when the blocks alone fill the device (prefill) or the keys are few', () => {
      expect(planSdpa(decode(32, 8, 1024, 1024), SWIFTSHADER)).toMatchObject({ kvSplits: 1, merge: null });
      expect(planSdpa(decode(32, 8, 1, 100), SWIFTSHADER)).toMatchObject({ kvSplits: 1, merge: null });
    });

    it('honours a forced split, capped at one tile per split', () => {
      const tile = { blockQ: 4, tileKv: 32 };
      expect(planSdpa(decode(8, 8, 1, 1000), SWIFTSHADER, { ...tile, kvSplits: 3 })).toMatchObject({
        kvSplits: 3,
        tilesPerSplit: 11,
      });
      expect(planSdpa(decode(8, 8, 1, 70), SWIFTSHADER, { ...tile, kvSplits: 50 })).toMatchObject({
        kvSplits: 3,
        tilesPerSplit: 1,
      });
      expect(planSdpa(decode(8, 8, 1, 70), SWIFTSHADER, { ...tile, kvSplits: 1 }).merge).toBeNull();
    });
  });
});
