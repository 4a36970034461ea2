/** The Linformer plan (the two sequence projections and the flash kernel over r keys): pure. */
import { describe, expect, it } from 'vitest';
import { SWIFTSHADER, WEBGPU_MINIMUM } from '../../helpers/limits';
import { validateLinformerCall } from '../../../src/contract/linformer';
import { planLinformer, planProjection, projectionWorkgroupBytes } from '../../../src/ops/linformer/plan';
import { planSdpa } from '../../../src/ops/sdpa/plan';

describe('planProjection', () => {
  it('writes the workgroup bytes of the shader header: 32 rows, 32 positions, 16 vec4s → 12416', () => {
    expect(projectionWorkgroupBytes(32, 32, 16)).toBe(4224 + 8192);
  });

  it('fits the WebGPU minimum for every rank and head dim', () => {
    for (const r of [1, 13, 16, 17, 256, 1000]) {
      for (const dim of [1, 7, 40, 64, 128, 256]) {
        const p = planProjection(24, r, dim, WEBGPU_MINIMUM);
        expect(p.workgroupBytes).toBeLessThanOrEqual(16384);
        expect(p.workgroupSize).toBe((p.tileP / 4) * p.tileDVec4);
        expect(p.workgroupSize).toBeLessThanOrEqual(256);
        expect(p.pTiles * p.tileP).toBeGreaterThanOrEqual(r);
        expect(p.dTiles * 4 * p.tileDVec4).toBeGreaterThanOrEqual(dim);
        expect(p.workgroupCount).toBe(24 * p.pTiles * p.dTiles);
      }
    }
  });

  it('takes 16-row tiles for r ≤ 16 and covers D = 40 with one tile of 10 vec4s', () => {
    const p = planProjection(6, 13, 40, SWIFTSHADER);
    expect([p.tileP, p.tileDVec4, p.pTiles, p.dTiles]).toEqual([16, 10, 1, 1]);
  });
});

describe('planLinformer', () => {
  it('plans the flash kernel on the projected sizes (Lk = r)', () => {
    const call = validateLinformerCall([1, 8, 4096, 64], [1, 8, 4096, 64], [1, 8, 4096, 64], [256, 4096], [256, 4096], {
      projectK: null,
      projectV: null,
    });
    expect(call.dims.Lk).toBe(256);
    expect(call.keys).toBe(4096);
    const plan = planLinformer(call.dims, SWIFTSHADER);
    expect(plan.flash).toEqual(planSdpa({ ...call.dims }, SWIFTSHADER));
    expect(plan.keys.workgroupCount).toBe(8 * Math.ceil(256 / 32));
  });
});
