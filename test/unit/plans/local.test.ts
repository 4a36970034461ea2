/**
 * The neighbourhood kernel's tiling plan: pure, so it is checked without a GPU, against several devices.
 *
 * Expected numbers come from the header of shaders/local.wgsl, worked by hand (the arithmetic is in the
 * comments), never from the plan's own functions:
 *   workgroup bytes = 16·TY·TX·C (q_tile) + 16·(TY + KY − 1)·(TX + KX − 1)·C (kv_tile) + 4·TY·TX·KY·KX (scores)
 *   qk_chunks = ceil(ceil(D / 4) / C), v_chunks = ceil(ceil(Dv / 4) / C)
 *   workgroups = B·Hq·dy·dx·tiles_y·tiles_x (locate_tile's decomposition of the flat workgroup index)
 * and from the tiling rules: the first tile in preference order (8×8, 4×8, 4×4, 2×4, 2×2, 1×2, 1×1;
 * 1×64 … 1×1 when Y = 1) that fits, skipping tiles past a dilation group's size rounded up to a power
 * of two, with the widest chunk C ≤ min(16, nextPow2(ceil(max(D, Dv) / 4))) that fits.
 */
import { describe, expect, it } from 'vitest';
import { SWIFTSHADER, WEBGPU_MINIMUM } from '../../helpers/limits';
import { AttentionError } from '../../../src/index';
import { planNeighborhood, type LocalTile } from '../../../src/ops/local/plan';
import type { NeighborhoodDims } from '../../../src/contract/neighborhood';
import type { DeviceLimits } from '../../../src/gpu/limits';

const dims = (Y: number, X: number, D: number, Dv = D): NeighborhoodDims => ({ B: 2, Hq: 4, Hkv: 2, Y, X, D, Dv });

/**
 * The header's workgroup-memory formula, written out here from shaders/local.wgsl (its three
 * `var<workgroup>` arrays: vec4 q_tile and kv_tile, f32 scores), not imported from the plan; the
 * hand-worked literals below pin it.
 */
function headerBytes(tile: LocalTile, [ky, kx]: readonly [number, number], chunk: number): number {
  const qTile = 16 * tile.y * tile.x * chunk;
  const kvTile = 16 * (tile.y + ky - 1) * (tile.x + kx - 1) * chunk;
  const scores = 4 * tile.y * tile.x * ky * kx;
  return qTile + kvTile + scores;
}

/** The tiling rules' preference order, larger first. */
const PREFERRED_2D: LocalTile[] = [
  { y: 8, x: 8 },
  { y: 4, x: 8 },
  { y: 4, x: 4 },
  { y: 2, x: 4 },
  { y: 2, x: 2 },
  { y: 1, x: 2 },
  { y: 1, x: 1 },
];
const PREFERRED_1D: LocalTile[] = [64, 32, 16, 8, 4, 2, 1].map((x) => ({ y: 1, x }));

/** A device with the WebGPU minimum limits except a small per-dimension workgroup count. */
const perDimension = (max: number): DeviceLimits => ({ ...WEBGPU_MINIMUM, maxComputeWorkgroupsPerDimension: max });

describe('planNeighborhood', () => {
  it("fits a 13×13 kernel with D = Dv = 256 on the WebGPU minimum limits with the header's example: 4×4, chunk 1, 15168 bytes", () => {
    const plan = planNeighborhood(dims(64, 64, 256), [13, 13], [1, 1], WEBGPU_MINIMUM);
    // 4×4, C = 1: 16·16 + 16·(4 + 12)·(4 + 12) + 4·16·169 = 256 + 4096 + 10816 = 15168 ≤ 16384.
    expect(headerBytes({ y: 4, x: 4 }, [13, 13], 1)).toBe(15168);
    expect(plan.tile).toEqual({ y: 4, x: 4 });
    expect(plan.chunkVec4).toBe(1);
    expect(plan.workgroupBytes).toBe(15168);
    // Why not larger: 4×8, C = 1: 16·32 + 16·16·20 + 4·32·169 = 512 + 5120 + 21632 = 27264 > 16384;
    // 4×4, C = 2: 2·(256 + 4096) + 10816 = 19520 > 16384.
    expect(headerBytes({ y: 4, x: 8 }, [13, 13], 1)).toBe(27264);
    expect(headerBytes({ y: 4, x: 4 }, [13, 13], 2)).toBe(19520);
    expect(plan.workgroupSize).toBeLessThanOrEqual(256);
    // ceil(ceil(256 / 4) / 1) = 64 chunks for q·k and for p·v.
    expect([plan.qkChunks, plan.vChunks]).toEqual([64, 64]);
    // 64 / 4 = 16 tiles per axis; 2·4·1·1·16·16 = 2048 workgroups, under 65535: not folded.
    expect(plan.tiles).toEqual([16, 16]);
    expect(plan.workgroupCount).toBe(2048);
    expect(plan.workgroups).toEqual([2048, 1, 1]);
  });

  // Each row worked by hand from the header and the tiling rules.
  const HAND_WORKED: {
    name: string;
    args: Parameters<typeof planNeighborhood>;
    tile: LocalTile;
    chunkVec4: number;
    workgroupBytes: number;
    chunks: [number, number];
    tiles: [number, number];
    workgroupCount: number;
  }[] = [
    {
      // C wanted = nextPow2(ceil(32 / 4)) = 8. 8×8: region 14·14 = 196, bytes = 16·(64 + 196)·C + 4·64·49
      // = 4160·C + 12544: C = 8 → 45824 > 32768, C = 4 → 29184 fits. chunks ceil(8 / 4) = 2.
      // tiles 64 / 8 = 8 per axis; 2·4·8·8 = 512.
      name: '64×64, 7×7, D = 32, 32 KiB: 8×8 at chunk 4',
      args: [dims(64, 64, 32), [7, 7], [1, 1], SWIFTSHADER],
      tile: { y: 8, x: 8 },
      chunkVec4: 4,
      workgroupBytes: 29184,
      chunks: [2, 2],
      tiles: [8, 8],
      workgroupCount: 512,
    },
    {
      // 8×8 at C = 1: 4160 + 12544 = 16704 > 16384. 4×8: region 10·14 = 140, bytes = 16·(32 + 140)·C
      // + 4·32·49 = 2752·C + 6272: C = 8 → 28288, C = 4 → 17280 (too big), C = 2 → 11776 fits.
      // chunks ceil(8 / 2) = 4; tiles 64 / 4 = 16 by 64 / 8 = 8; 2·4·16·8 = 1024.
      name: '64×64, 7×7, D = 32, 16 KiB: 4×8 at chunk 2 (8×8 needs 16704 bytes even at chunk 1)',
      args: [dims(64, 64, 32), [7, 7], [1, 1], WEBGPU_MINIMUM],
      tile: { y: 4, x: 8 },
      chunkVec4: 2,
      workgroupBytes: 11776,
      chunks: [4, 4],
      tiles: [16, 8],
      workgroupCount: 1024,
    },
    {
      // C wanted = nextPow2(max(ceil(5 / 4), ceil(7 / 4))) = 2. 8×8: region 12·12 = 144,
      // bytes = 16·(64 + 144)·2 + 4·64·25 = 6656 + 6400 = 13056. chunks ceil(2 / 2) = 1 each.
      // tiles ceil(40 / 8) = 5 per axis; 2·4·5·5 = 200.
      name: '40×40, 5×5, D = 5, Dv = 7, 16 KiB: 8×8 at chunk 2 (the wider of D and Dv sets the chunk)',
      args: [dims(40, 40, 5, 7), [5, 5], [1, 1], WEBGPU_MINIMUM],
      tile: { y: 8, x: 8 },
      chunkVec4: 2,
      workgroupBytes: 13056,
      chunks: [1, 1],
      tiles: [5, 5],
      workgroupCount: 200,
    },
    {
      // Only 4×4 at C = 1 fits (15168, see above). chunks: ceil(64 / 1) = 64 for D = 256,
      // ceil(ceil(3 / 4) / 1) = 1 for Dv = 3. tiles ceil(40 / 4) = 10 per axis; 2·4·10·10 = 800.
      name: '40×40, 13×13, D = 256, Dv = 3, 16 KiB: 4×4 at chunk 1, 64 q·k chunks but one p·v chunk',
      args: [dims(40, 40, 256, 3), [13, 13], [1, 1], WEBGPU_MINIMUM],
      tile: { y: 4, x: 4 },
      chunkVec4: 1,
      workgroupBytes: 15168,
      chunks: [64, 1],
      tiles: [10, 10],
      workgroupCount: 800,
    },
    {
      // Dilation 4: groups of ceil(13 / 4) = 4 by ceil(17 / 4) = 5 positions, rounded up 4 by 8, so
      // 8×8 is skipped. C wanted = nextPow2(ceil(8 / 4)) = 2. 4×8: region 6·10 = 60,
      // bytes = 16·(32 + 60)·2 + 4·32·9 = 2944 + 1152 = 4096. tiles ceil(4 / 4) = 1, ceil(5 / 8) = 1;
      // 2·4·(4·4 groups)·1·1 = 128.
      name: '13×17, 3×3, dilation 4, D = 8, 32 KiB: 4×8 (8×8 is past a 4×5 group) at chunk 2',
      args: [dims(13, 17, 8), [3, 3], [4, 4], SWIFTSHADER],
      tile: { y: 4, x: 8 },
      chunkVec4: 2,
      workgroupBytes: 4096,
      chunks: [1, 1],
      tiles: [1, 1],
      workgroupCount: 128,
    },
    {
      // Y = 1: row tiles. C wanted = nextPow2(ceil(16 / 4)) = 4. 1×64: region 1·70 = 70,
      // bytes = 16·(64 + 70)·4 + 4·64·7 = 8576 + 1792 = 10368. tiles 1, ceil(1000 / 64) = 16; 2·4·16 = 128.
      name: '1×1000, 1×7, D = 16, 32 KiB: a 1×64 row tile at chunk 4',
      args: [dims(1, 1000, 16), [1, 7], [1, 1], SWIFTSHADER],
      tile: { y: 1, x: 64 },
      chunkVec4: 4,
      workgroupBytes: 10368,
      chunks: [1, 1],
      tiles: [1, 16],
      workgroupCount: 128,
    },
    {
      // Dilation 5 along x: groups of ceil(100 / 5) = 20 positions, rounded up 32, so 1×64 is skipped.
      // 1×32: region 1·40 = 40, bytes = 16·(32 + 40)·4 + 4·32·9 = 4608 + 1152 = 5760.
      // tiles 1, ceil(20 / 32) = 1; 2·4·1·5·1·1 = 40.
      name: '1×100, 1×9, dilation 5, D = 16, 32 KiB: 1×32 (1×64 is past a 20-position group) at chunk 4',
      args: [dims(1, 100, 16), [1, 9], [1, 5], SWIFTSHADER],
      tile: { y: 1, x: 32 },
      chunkVec4: 4,
      workgroupBytes: 5760,
      chunks: [1, 1],
      tiles: [1, 1],
      workgroupCount: 40,
    },
    {
      // The largest odd square kernel for one query on 16 KiB: 27×27 at 1×1, C = 1:
      // 16·1 + 16·27·27 + 4·729 = 16 + 11664 + 2916 = 14596; 1×2 needs 16·2 + 16·27·28 + 4·2·729
      // = 32 + 12096 + 5832 = 17960. tiles 64 per axis; 2·4·64·64 = 32768.
      name: '64×64, 27×27, D = 4, 16 KiB: one query per workgroup (1×2 needs 17960 bytes)',
      args: [dims(64, 64, 4), [27, 27], [1, 1], WEBGPU_MINIMUM],
      tile: { y: 1, x: 1 },
      chunkVec4: 1,
      workgroupBytes: 14596,
      chunks: [1, 1],
      tiles: [64, 64],
      workgroupCount: 32768,
    },
  ];

  for (const row of HAND_WORKED) {
    it(`plans ${row.name}, as worked by hand from the header`, () => {
      const plan = planNeighborhood(...row.args);
      expect(plan.tile).toEqual(row.tile);
      expect(plan.chunkVec4).toBe(row.chunkVec4);
      expect(plan.workgroupBytes).toBe(row.workgroupBytes);
      expect(headerBytes(row.tile, row.args[1], row.chunkVec4)).toBe(row.workgroupBytes);
      expect([plan.qkChunks, plan.vChunks]).toEqual(row.chunks);
      expect(plan.tiles).toEqual(row.tiles);
      expect(plan.workgroupCount).toBe(row.workgroupCount);
      expect(plan.workgroups).toEqual([row.workgroupCount, 1, 1]);
    });
  }

  it('picks, for every odd kernel up to 13×13 that fits its map, head dims up to 256 and dilations up to 5, a plan that fits and that no larger tile or chunk would', () => {
    const pow2 = (n: number) => Number.isInteger(Math.log2(n));
    let checked = 0;
    for (const limits of [WEBGPU_MINIMUM, SWIFTSHADER]) {
      const storage = limits.maxComputeWorkgroupStorageSize;
      for (let ky = 1; ky <= 13; ky += 2) {
        for (let kx = 1; kx <= 13; kx += 2) {
          for (const [D, Dv] of [
            [1, 1],
            [5, 7],
            [64, 64],
            [256, 256],
            [256, 3],
            [3, 256],
          ]) {
            for (const [Y, X, dy, dx] of [
              [40, 40, 1, 1],
              [1, 200, 1, 1],
              [65, 67, 5, 3],
              [29, 70, 2, 5],
              [9, 20, 3, 1], // groups of 3 × 20: 8×8 is past the group's size (rounded up, 4)
            ]) {
              if (ky * dy > Y || kx * dx > X) continue; // the window must fit in its group: k·d ≤ n
              const kernel: [number, number] = [ky, kx];
              const what = `${Y}×${X} kernel ${ky}×${kx} dilation ${dy}×${dx} D ${D} Dv ${Dv} on ${storage} bytes`;
              const plan = planNeighborhood(dims(Y, X, D, Dv), kernel, [dy, dx], limits);
              const { tile, chunkVec4: chunk } = plan;
              const bytes = (t: LocalTile, c: number) => headerBytes(t, kernel, c);

              // Memory: the header's formula, within the device's workgroup storage.
              expect(plan.workgroupBytes, what).toBe(bytes(tile, chunk));
              expect(plan.workgroupBytes, what).toBeLessThanOrEqual(storage);
              expect(plan.workgroupSize, what).toBeLessThanOrEqual(256);

              // No larger preferred tile (among those not past the group's size) fits even at chunk 1.
              const [groupY, groupX] = [Math.ceil(Y / dy), Math.ceil(X / dx)];
              expect(tile.y, what).toBeLessThan(2 * groupY);
              expect(tile.x, what).toBeLessThan(2 * groupX);
              const order = (Y === 1 ? PREFERRED_1D : PREFERRED_2D).filter((t) => t.y < 2 * groupY && t.x < 2 * groupX);
              const at = order.findIndex((t) => t.y === tile.y && t.x === tile.x);
              expect(at, what).toBeGreaterThanOrEqual(0);
              for (const larger of order.slice(0, at)) expect(bytes(larger, 1), what).toBeGreaterThan(storage);

              // The chunk: a power of two ≤ 16, the widest that fits, and no wider than the head dims need.
              expect(pow2(chunk) && chunk <= 16, what).toBe(true);
              const covers = chunk === 16 || chunk * 4 >= Math.max(D, Dv);
              expect(covers || bytes(tile, 2 * chunk) > storage, what).toBe(true);
              if (chunk > 1) expect((chunk / 2) * 4, what).toBeLessThan(Math.max(D, Dv));

              // The chunks cover D and Dv, with no chunk entirely past them.
              expect(plan.qkChunks * chunk * 4, what).toBeGreaterThanOrEqual(D);
              expect((plan.qkChunks - 1) * chunk * 4, what).toBeLessThan(D);
              expect(plan.vChunks * chunk * 4, what).toBeGreaterThanOrEqual(Dv);
              expect((plan.vChunks - 1) * chunk * 4, what).toBeLessThan(Dv);

              // The tiles cover the largest dilation group (group 0, ceil(n / d) positions), no tile past it.
              expect(plan.tiles[0] * tile.y, what).toBeGreaterThanOrEqual(groupY);
              expect((plan.tiles[0] - 1) * tile.y, what).toBeLessThan(groupY);
              expect(plan.tiles[1] * tile.x, what).toBeGreaterThanOrEqual(groupX);
              expect((plan.tiles[1] - 1) * tile.x, what).toBeLessThan(groupX);

              // One workgroup per (b, h, dilation group, tile); under 65535 it is not folded.
              expect(plan.workgroupCount, what).toBe(2 * 4 * dy * dx * plan.tiles[0] * plan.tiles[1]);
              expect(plan.workgroups, what).toEqual([plan.workgroupCount, 1, 1]);
              checked++;
            }
          }
        }
      }
    }
    // Per device: 49 kernels × 6 head dims on each of the three larger 2-D maps, 7 row kernels × 6 on the
    // 1-D map, and 2 × 7 kernels (ky ≤ 3 as 3·3 ≤ 9) × 6 on the 9×20 map.
    expect(checked).toBe(2 * (49 * 6 * 3 + 7 * 6 + 14 * 6));
  });

  it('keeps the workgroup size within a device that allows fewer invocations', () => {
    const limits = { ...WEBGPU_MINIMUM, maxComputeInvocationsPerWorkgroup: 64, maxComputeWorkgroupSizeX: 64 };
    for (const k of [1, 3, 7, 13]) {
      expect(planNeighborhood(dims(64, 64, 32), [k, k], [1, 1], limits).workgroupSize).toBeLessThanOrEqual(64);
    }
    const narrowX = { ...WEBGPU_MINIMUM, maxComputeWorkgroupSizeX: 32 };
    expect(planNeighborhood(dims(64, 64, 32), [7, 7], [1, 1], narrowX).workgroupSize).toBeLessThanOrEqual(32);
  });

  it('folds the grid into y past a small maxComputeWorkgroupsPerDimension, and refuses one past its square', () => {
    // 64×64, 7×7, D = 32 on 32 KiB: 512 workgroups (8×8 tiles, see above).
    const shape = [dims(64, 64, 32), [7, 7], [1, 1]] as const;
    const folded = (max: number) =>
      planNeighborhood(...shape, { ...SWIFTSHADER, maxComputeWorkgroupsPerDimension: max }).workgroups;
    expect(folded(512)).toEqual([512, 1, 1]);
    // 512 > 511: y = ceil(512 / 511) = 2, x = ceil(512 / 2) = 256.
    expect(folded(511)).toEqual([256, 2, 1]);
    // y = ceil(512 / 100) = 6, x = ceil(512 / 6) = 86 (86·6 = 516 ≥ 512 > 86·5).
    expect(folded(100)).toEqual([86, 6, 1]);
    // 23² = 529 ≥ 512: y = ceil(512 / 23) = 23, x = ceil(512 / 23) = 23.
    expect(folded(23)).toEqual([23, 23, 1]);
    for (let max = 23; max <= 600; max++) {
      const [x, y, z] = folded(max);
      expect(Math.max(x, y), `max ${max}`).toBeLessThanOrEqual(max);
      expect(x * y, `max ${max}`).toBeGreaterThanOrEqual(512);
      expect(x * (y - 1), `max ${max}`).toBeLessThan(512);
      expect(z).toBe(1);
    }
    // The unfolded count does not change with the limit.
    const plan = planNeighborhood(...shape, { ...SWIFTSHADER, maxComputeWorkgroupsPerDimension: 100 });
    expect(plan.workgroupCount).toBe(512);

    // 22² = 484 < 512 workgroups: no grid dispatches them.
    const error = (() => {
      try {
        planNeighborhood(...shape, { ...SWIFTSHADER, maxComputeWorkgroupsPerDimension: 22 });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(AttentionError);
    expect((error as AttentionError).argument).toBe('q');
    expect((error as Error).message).toMatch(/512 query tiles.*at most 484 workgroups \(22 per dimension\)/);

    // 13×13, D = 256 on the minimum: 2048 workgroups; y = ceil(2048 / 100) = 21, x = ceil(2048 / 21) = 98.
    expect(planNeighborhood(dims(64, 64, 256), [13, 13], [1, 1], perDimension(100)).workgroups).toEqual([98, 21, 1]);
  });

  it('prefers more queries per workgroup where memory allows, and the widest chunk for that tile', () => {
    expect(planNeighborhood(dims(64, 64, 32), [7, 7], [1, 1], SWIFTSHADER).tile).toEqual({ y: 8, x: 8 });
    expect(planNeighborhood(dims(64, 64, 32), [7, 7], [1, 1], SWIFTSHADER).chunkVec4).toBe(4);
    expect(planNeighborhood(dims(64, 64, 32), [7, 7], [1, 1], WEBGPU_MINIMUM).tile).toEqual({ y: 4, x: 8 });
    // D = 8 needs 2 vec4s: 8×8, 3×3 at C = 2 is 16·(64 + 100)·2 + 4·64·9 = 5248 + 2304 = 7552, and no wider.
    expect(planNeighborhood(dims(64, 64, 8), [3, 3], [1, 1], SWIFTSHADER).chunkVec4).toBe(2);
    expect(planNeighborhood(dims(64, 64, 8), [3, 3], [1, 1], SWIFTSHADER).workgroupBytes).toBe(7552);
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

  it('refuses a kernel whose smallest configuration does not fit, naming the kernel, its bytes and the limit', () => {
    expect(() => planNeighborhood(dims(64, 64, 8), [33, 33], [1, 1], WEBGPU_MINIMUM)).toThrow(AttentionError);
    // 33×33 at 1×1, C = 1: 16·1 + 16·33·33 + 4·1089 = 16 + 17424 + 4356 = 21796 > 16384.
    expect(() => planNeighborhood(dims(64, 64, 8), [33, 33], [1, 1], WEBGPU_MINIMUM)).toThrow(
      /options\.kernel: got kernel 33×33, which needs 21796 bytes.*16384 bytes/,
    );
    // 29×29 at 1×1, C = 1: 16·1 + 16·29·29 + 4·841 = 16 + 13456 + 3364 = 16836 > 16384 (27×27 fits, above).
    expect(() => planNeighborhood(dims(64, 64, 4), [29, 29], [1, 1], WEBGPU_MINIMUM)).toThrow(/needs 16836 bytes/);
  });
});
