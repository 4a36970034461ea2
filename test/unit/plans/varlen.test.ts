/** The packed call's plan: pure, from the sequences and the device's limits. */
import { describe, expect, it } from 'vitest';
import { SWIFTSHADER, WEBGPU_MINIMUM } from '../../helpers/limits';
import { validateVarlenCall } from '../../../src/contract/varlen';
import { planVarlen } from '../../../src/ops/varlen/plan';

const call = (returnLse: boolean) =>
  validateVarlenCall([12, 4, 64], [20, 2, 64], [20, 2, 64], {
    cuSeqlensQ: [0, 0, 5, 6, 12],
    cuSeqlensK: [0, 3, 3, 10, 20],
    returnLse,
  });

describe('planVarlen', () => {
  it('plans one flash pass per sequence with queries, none for an empty one', () => {
    const plan = planVarlen(call(false), SWIFTSHADER);
    expect(plan.steps.map((s) => s.sequence.index)).toEqual([1, 2, 3]);
    expect(plan.steps.map((s) => [s.sequence.dims.Lq, s.sequence.dims.Lk])).toEqual([
      [5, 0],
      [1, 7],
      [6, 10],
    ]);
    expect(plan.steps.every((s) => s.lseCopy === null)).toBe(true);
    expect(plan.lseScratchElements).toBe(0);
  });

  it('plans a sequence without keys like one key: a single tile, no key split', () => {
    const keyless = planVarlen(call(false), SWIFTSHADER).steps[0].flash;
    expect(keyless.workgroupCount).toBeGreaterThan(0);
    expect(Number.isInteger(keyless.workgroups[0])).toBe(true);
  });

  it('with returnLse: one lse copy per sequence covering its Hq·Lq rows, scratch for the longest', () => {
    for (const limits of [WEBGPU_MINIMUM, SWIFTSHADER]) {
      const plan = planVarlen(call(true), limits);
      expect(plan.lseScratchElements).toBe(4 * 6);
      for (const step of plan.steps) {
        const copy = step.lseCopy!;
        expect(copy.tiles * copy.tile.tileM).toBeGreaterThanOrEqual(4 * step.sequence.dims.Lq);
        expect(copy.workgroupSize).toBeLessThanOrEqual(limits.maxComputeInvocationsPerWorkgroup);
        expect(step.flash.workgroupBytes).toBeLessThanOrEqual(limits.maxComputeWorkgroupStorageSize);
      }
    }
  });
});
