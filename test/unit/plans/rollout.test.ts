/** The plan of attention rollout: pure, against the WebGPU minimum and SwiftShader's limits. */
import { describe, expect, it } from 'vitest';
import { planRollout } from '../../../src/ops/rollout/plan';
import { SWIFTSHADER, WEBGPU_MINIMUM } from '../../helpers/limits';

describe('planRollout', () => {
  it('one layer: its Â goes straight to the output, no GEMM, no product scratch', () => {
    const plan = planRollout({ layers: 1, B: 2, H: 3, L: 37 }, SWIFTSHADER);
    expect(plan.steps).toEqual([{ layer: 0, into: 'out', product: null }]);
    expect(plan.matmul).toBeNull();
    expect(plan.scratch).toEqual({ fused: 2 * 37 * 37, transposed: 0, product: 0 });
    expect(plan.rows).toEqual({ count: 74, workgroups: [74, 1, 1] });
    expect(plan.fuse.workgroups).toEqual([Math.ceil((2 * 37 * 37) / 128), 1, 1]);
  });

  it('last layer first, and the products alternate so that the last one lands in the output', () => {
    for (const layers of [2, 3, 4, 12]) {
      const plan = planRollout({ layers, B: 1, H: 12, L: 197 }, SWIFTSHADER);
      expect(plan.steps.map((s) => s.layer)).toEqual(Array.from({ length: layers }, (_, i) => layers - 1 - i));
      expect(plan.steps.at(-1)!.product!.to).toBe('out');
      for (let g = 1; g < layers; g++) {
        expect(plan.steps[g].into).toBe('transposed');
        expect(plan.steps[g].product!.from).toBe(g === 1 ? plan.steps[0].into : plan.steps[g - 1].product!.to);
        expect(plan.steps[g].product!.from).not.toBe(plan.steps[g].product!.to);
      }
      expect(plan.matmul!.tiles).toBeGreaterThan(0);
    }
  });

  it('refuses a rollout whose [B, L, L] matrices cannot be bound', () => {
    expect(() => planRollout({ layers: 2, B: 1, H: 1, L: 8000 }, WEBGPU_MINIMUM)).toThrow(/weights/);
  });
});
