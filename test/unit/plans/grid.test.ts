/** The limit checks every plan shares: folding a grid past the per-dimension limit, and buffer fits. */
import { describe, expect, it } from 'vitest';
import { AttentionError } from '../../../src/errors';
import { checkFits, foldGrid } from '../../../src/gpu/limits';
import { WEBGPU_MINIMUM } from '../../helpers/limits';

const small = { ...WEBGPU_MINIMUM, maxComputeWorkgroupsPerDimension: 10 };

describe('foldGrid', () => {
  it('keeps a grid within the limit in x, and dispatches at least one workgroup', () => {
    expect(foldGrid(7, small, 'q', '7')).toEqual([7, 1, 1]);
    expect(foldGrid(10, small, 'q', '10')).toEqual([10, 1, 1]);
    expect(foldGrid(0, small, 'q', '0')).toEqual([1, 1, 1]);
  });

  it('folds into y with x · y ≥ count and both within the limit', () => {
    for (let count = 11; count <= 100; count++) {
      const [x, y, z] = foldGrid(count, small, 'q', String(count));
      expect(z).toBe(1);
      expect(x).toBeLessThanOrEqual(10);
      expect(y).toBeLessThanOrEqual(10);
      expect(x * y).toBeGreaterThanOrEqual(count);
      expect(x * (y - 1)).toBeLessThan(count); // no row of padding workgroups
    }
  });

  it('refuses a grid past limit² with an AttentionError naming the argument and what the workgroups are', () => {
    const error = (() => {
      try {
        foldGrid(101, small, 'options.key', '101 query blocks');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(AttentionError);
    expect((error as AttentionError).argument).toBe('options.key');
    expect((error as Error).message).toBe(
      'options.key: got 101 query blocks; expected at most 100 workgroups (10 per dimension)',
    );
  });
});

describe('checkFits', () => {
  it('accepts a buffer up to the smaller of the binding and the buffer limit', () => {
    const limits = { ...WEBGPU_MINIMUM, maxStorageBufferBindingSize: 1000, maxBufferSize: 800 };
    expect(() => checkFits(limits, 'x', 200, 800)).not.toThrow();
    expect(() => checkFits(limits, 'x', 201, 804)).toThrow(
      /x: got 804 bytes \(201 elements\); expected at most 800 bytes/,
    );
  });

  it('refuses 2^32 elements or more (kernels index with u32) even where the bytes would fit', () => {
    const huge = { ...WEBGPU_MINIMUM, maxStorageBufferBindingSize: 2 ** 40, maxBufferSize: 2 ** 40 };
    expect(() => checkFits(huge, 'mask', 2 ** 32 - 1, 2 ** 32 - 1)).not.toThrow();
    expect(() => checkFits(huge, 'mask', 2 ** 32, 2 ** 32)).toThrow(/fewer than 2\^32 elements/);
  });
});
