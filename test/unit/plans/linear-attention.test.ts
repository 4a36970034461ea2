/** The linear-attention plan: pure, checked against the WebGPU minimum and SwiftShader's limits. */
import { describe, expect, it } from 'vitest';
import { AttentionError } from '../../../src/index';
import { SWIFTSHADER, WEBGPU_MINIMUM } from '../../helpers/limits';
import {
  LINEAR_ATTENTION_TILES,
  linearAttentionWorkgroupBytes,
  MAX_SEGMENTS,
  planLinearAttention,
} from '../../../src/ops/linear-attention/plan';

const dims = (L: number, D = 64, Dv = 64, B = 1, Hq = 8, Hkv = Hq) => ({ B, Hq, Hkv, Lq: L, Lk: L, D, Dv });

describe('planLinearAttention', () => {
  it('writes the workgroup bytes of the shader header: D = 64, 16 columns, 16 rows → 14592', () => {
    expect(linearAttentionWorkgroupBytes({ chunk: 16, valueTileVec4: 4 }, 16)).toBe(4096 + 256 + 8192 + 1024 + 1024);
  });

  it('fits every head dim up to 256 in 16 KiB and 256 invocations, any Dv (tiled over value columns)', () => {
    for (const D of [1, 7, 40, 64, 128, 130, 256]) {
      for (const Dv of [1, 24, 64, 200, 512]) {
        const plan = planLinearAttention(dims(77, D, Dv), true, WEBGPU_MINIMUM);
        expect(plan.workgroupBytes).toBeLessThanOrEqual(16384);
        expect(plan.workgroupSize).toBeLessThanOrEqual(256);
        expect(plan.dvTiles * plan.tile.valueTileVec4 * 4).toBeGreaterThanOrEqual(Dv);
        expect((plan.dvTiles - 1) * plan.tile.valueTileVec4 * 4).toBeLessThan(Dv);
      }
    }
  });

  it('takes wider tiles where the device has more workgroup storage', () => {
    expect(planLinearAttention(dims(1024), false, WEBGPU_MINIMUM).tile).toEqual({ chunk: 16, valueTileVec4: 4 });
    expect(planLinearAttention(dims(1024), false, SWIFTSHADER).tile).toEqual({ chunk: 16, valueTileVec4: 8 });
    expect(planLinearAttention(dims(77, 40, 24), false, SWIFTSHADER).tile).toEqual({ chunk: 32, valueTileVec4: 6 });
  });

  it('causal: one segment (no state pass, no partials) for short inputs; segments and their partials for long ones', () => {
    const short = planLinearAttention(dims(77, 40, 24, 2, 3), true, SWIFTSHADER);
    expect(short.state).toBeNull();
    expect([short.kvSegments, short.partialElements]).toEqual([0, 0]);
    expect(short.output.workgroupCount).toBe(2 * 3 * short.dvTiles);
    const long = planLinearAttention(dims(16384, 64, 64, 1, 8), true, SWIFTSHADER);
    const { segments, segmentChunks } = long.output;
    expect(segments).toBeGreaterThan(1);
    expect(segments).toBeLessThanOrEqual(MAX_SEGMENTS);
    expect(segments * segmentChunks * long.tile.chunk).toBeGreaterThanOrEqual(16384);
    expect(long.state).toMatchObject({ segments: segments - 1, segmentChunks });
    expect(long.kvSegments).toBe(segments - 1);
    // Memory O(D·Dv) per head: at most MAX_SEGMENTS partial states, whatever L.
    expect(long.partialElements).toBe(8 * (segments - 1) * 64 * 65);
    expect(long.zAt).toBe(8 * (segments - 1) * 64 * 64);
  });

  it('not causal: key segments for the state pass and query segments for the output pass, independently', () => {
    const plan = planLinearAttention({ B: 1, Hq: 4, Hkv: 2, Lq: 40, Lk: 3001, D: 16, Dv: 16 }, false, SWIFTSHADER);
    expect(plan.state!.segments).toBeGreaterThan(1);
    expect(plan.kvSegments).toBe(plan.state!.segments);
    expect(plan.state!.workgroupCount).toBe(2 * plan.state!.segments * plan.dvTiles);
    expect(plan.output.segments).toBe(1);
    expect(plan.output.workgroupCount).toBe(4 * plan.dvTiles);
  });

  it('segments never exceed the chunks, and each has at least one', () => {
    for (const L of [1, 5, 16, 17, 100, 1000, 5000, 100000]) {
      const p = planLinearAttention(dims(L, 32, 32, 1, 1), true, SWIFTSHADER);
      const chunks = Math.ceil(L / p.tile.chunk);
      expect((p.output.segments - 1) * p.output.segmentChunks).toBeLessThan(chunks);
    }
  });

  it('drops to one segment when the partials would not fit one binding', () => {
    const small = { ...SWIFTSHADER, maxStorageBufferBindingSize: 64 * 65 * 4 * 8 * 2 };
    const plan = planLinearAttention(dims(16384, 64, 64, 1, 8), true, small);
    expect(plan.output.segments).toBe(1);
    expect(plan.state).toBeNull();
  });

  it('refuses a head dim whose smallest tiling does not fit, naming q', () => {
    const smallest = LINEAR_ATTENTION_TILES[LINEAR_ATTENTION_TILES.length - 1];
    expect(linearAttentionWorkgroupBytes(smallest, 1024)).toBeGreaterThan(16384);
    expect(() => planLinearAttention(dims(8, 4096, 8), false, WEBGPU_MINIMUM)).toThrow(AttentionError);
    expect(() => planLinearAttention(dims(8, 4096, 8), false, WEBGPU_MINIMUM)).toThrow(/^q: got head dim D = 4096/);
  });

  it('folds the grid past the per-dimension limit', () => {
    const tight = { ...SWIFTSHADER, maxComputeWorkgroupsPerDimension: 100 };
    const plan = planLinearAttention(dims(64, 16, 512, 4, 64), false, tight);
    expect(plan.output.workgroupCount).toBeGreaterThan(100);
    expect(plan.output.workgroups[1]).toBeGreaterThan(1);
    expect(plan.output.workgroups[0] * plan.output.workgroups[1]).toBeGreaterThanOrEqual(plan.output.workgroupCount);
  });
});
