/** The plan of feature-map attention (channel, spatial, CBAM): pure, against the WebGPU minimum and SwiftShader's limits. */
import { describe, expect, it } from 'vitest';
import { AttentionError } from '../../../src/index';
import {
  KEEP_TILE_CONTIGUOUS,
  LANES_CONTIGUOUS,
  planPool,
  planVision,
  SCALE_ELEMENTS,
} from '../../../src/ops/vision/plan';
import { SWIFTSHADER, WEBGPU_MINIMUM } from '../../helpers/limits';

const dims = { N: 2, C: 24, H: 13, W: 17 };

describe('planVision', () => {
  it('nchw: a channel pools along its contiguous positions with 8 neighbouring lanes; positions 32 at a time', () => {
    const plan = planVision(dims, 'nchw', { channel: true, spatial: true }, SWIFTSHADER);
    expect(plan.workgroupSize).toBe(128);
    const pool = plan.channel!.pool;
    expect([pool.keepTile, pool.lanes, pool.lanesInner, pool.strideK, pool.strideR]).toEqual([16, 8, true, 221, 1]);
    expect(pool.workgroupCount).toBe(2 * 2);
    const maps = plan.spatial!.pool;
    expect([maps.keepTile, maps.lanes, maps.lanesInner, maps.strideK, maps.strideR]).toEqual([
      KEEP_TILE_CONTIGUOUS,
      4,
      false,
      1,
      221,
    ]);
    expect(maps.blocks).toBe(Math.ceil(221 / 32));
  });

  it('nhwc: the other way round', () => {
    const plan = planVision(dims, 'nhwc', { channel: true, spatial: true }, SWIFTSHADER);
    const pool = plan.channel!.pool;
    expect([pool.keepTile, pool.lanes, pool.lanesInner, pool.strideK, pool.strideR]).toEqual([32, 4, false, 1, 24]);
    const maps = plan.spatial!.pool;
    expect([maps.keepTile, maps.lanes, maps.lanesInner, maps.strideK, maps.strideR]).toEqual([
      16,
      LANES_CONTIGUOUS,
      true,
      24,
      1,
    ]);
    for (const p of [pool, maps]) expect(p.keepTile * p.lanes).toBe(128);
  });

  it('lanes are a power of two and cover the workgroup, whatever the sizes', () => {
    for (const [items, reduce, r] of [
      [1, 1, 1],
      [3, 5, 1],
      [300, 7, 1],
      [7, 300, 9],
      [1, 1000, 1],
      [1000, 1, 3],
    ]) {
      const p = planPool(1, items, reduce, { n: items * reduce, k: r === 1 ? reduce : 1, r }, 128, WEBGPU_MINIMUM);
      expect(Number.isInteger(Math.log2(p.lanes))).toBe(true);
      expect(p.lanes).toBeLessThanOrEqual(r === 1 ? LANES_CONTIGUOUS : 128);
      expect(p.keepTile * p.lanes).toBe(128);
      expect(p.blocks * p.keepTile).toBeGreaterThanOrEqual(items);
    }
  });

  it('takes scratch only for the gates present, and grids for every pass', () => {
    const channel = planVision(dims, 'nchw', { channel: true, spatial: false }, WEBGPU_MINIMUM);
    expect(channel.scratch).toEqual({ channelPool: 2 * 24 * 2, gate: 2 * 24, maps: 0, spatialGate: 0 });
    expect(channel.spatial).toBeNull();
    expect(channel.channel!.mlp).toEqual({ count: 2, workgroups: [2, 1, 1] });
    const spatial = planVision(dims, 'nhwc', { channel: false, spatial: true }, WEBGPU_MINIMUM);
    expect(spatial.scratch).toEqual({ channelPool: 0, gate: 0, maps: 2 * 221 * 2, spatialGate: 2 * 221 });
    expect(spatial.spatial!.conv.workgroups).toEqual([Math.ceil(442 / 128), 1, 1]);
    const groups = Math.ceil((2 * 24 * 221) / (128 * SCALE_ELEMENTS));
    expect(spatial.scale).toEqual({ count: 2 * 24 * 221, workgroups: [groups, 1, 1], elements: SCALE_ELEMENTS });
  });

  it('folds the element grid past 65535 workgroups, and refuses scratch past one binding', () => {
    const big = planVision({ N: 256, C: 256, H: 56, W: 56 }, 'nchw', { channel: true, spatial: true }, WEBGPU_MINIMUM);
    const groups = Math.ceil((256 * 256 * 56 * 56) / (128 * SCALE_ELEMENTS));
    expect(big.scale.workgroups[1]).toBeGreaterThan(1);
    expect(big.scale.workgroups[0] * big.scale.workgroups[1]).toBeGreaterThanOrEqual(groups);
    const tiny = { ...WEBGPU_MINIMUM, maxStorageBufferBindingSize: 1024 };
    expect(() => planVision({ N: 1, C: 8, H: 16, W: 16 }, 'nchw', { channel: false, spatial: true }, tiny)).toThrow(
      AttentionError,
    );
  });
});
