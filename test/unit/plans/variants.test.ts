/**
 * The variations' host side without a device: top-k's choice (ties to the lower key, −∞ and NaN
 * never chosen), the block-sparse patterns, and the flash plan's tile bits (a tile is walked exactly
 * when some row of the workgroup's block meets an on block among its keys).
 */
import { describe, expect, it } from 'vitest';
import { sparsePatterns } from '../../../src/contract/sparse-patterns';
import { blockOn, topKeep, validateVariants } from '../../../src/contract/variants';
import { blockTileBits } from '../../../src/ops/sdpa/block-tiles';

const grid = (m: { mask: { data: ArrayLike<number | boolean>; shape: readonly number[] } }) => {
  const [, , n, k] = m.mask.shape;
  return Array.from({ length: n }, (_, a) =>
    Array.from({ length: k }, (_, c) => (m.mask.data[a * k + c] ? '#' : '.')).join(''),
  );
};

describe('topKeep', () => {
  it('keeps the k largest, ties to the lower key; −∞ and NaN are never kept', () => {
    expect(Array.from(topKeep([1, 3, 3, -Infinity, 3, NaN], 2))).toEqual([0, 1, 1, 0, 0, 0]);
    expect(Array.from(topKeep([-Infinity, 2, NaN], 5))).toEqual([0, 1, 0]);
    expect(Array.from(topKeep([0, -0, 0], 1))).toEqual([1, 0, 0]);
  });
});

describe('sparsePatterns', () => {
  it('strided: the local band and every stride-th block back, causal', () => {
    expect(grid(sparsePatterns.strided({ length: 48, blockSize: 8, stride: 3 }))).toEqual([
      '#.....',
      '##....',
      '###...',
      '####..',
      '.####.',
      '..####',
    ]);
  });

  it('fixed: the own segment and the last block of every segment, causal', () => {
    expect(grid(sparsePatterns.fixed({ length: 6, blockSize: 1, stride: 3 }))).toEqual([
      '#.....',
      '##....',
      '###...',
      '..##..',
      '..###.',
      '..####',
    ]);
  });

  it('BigBird: window, global and seeded random blocks; the same seed gives the same mask', () => {
    const a = sparsePatterns.bigBird({ length: 160, blockSize: 16, window: 3, global: 1, random: 2, seed: 3 });
    expect(grid(a)).toEqual(
      grid(sparsePatterns.bigBird({ length: 160, blockSize: 16, window: 3, global: 1, random: 2, seed: 3 })),
    );
    const rows = grid(a);
    rows.forEach((row, r) => {
      expect(row[0]).toBe('#');
      expect(row.slice(Math.max(0, r - 1), r + 2)).toMatch(/^#+$/);
      // Past the global row: at most the window (3), the global column and 2 random blocks.
      if (r > 0) expect([...row].filter((x) => x === '#').length).toBeLessThanOrEqual(6);
    });
    expect(rows[0]).toBe('##########');
    expect(() => sparsePatterns.bigBird({ length: 16, blockSize: 4, window: 2 })).toThrow(/odd/);
  });
});

describe('blockTileBits', () => {
  it('marks exactly the key tiles that meet an on block of some row of each workgroup block', () => {
    // Lq = Lk = 40, blocks of 10 × 10, only the diagonal on; tiles of 16 keys, blocks of 8 rows, one head.
    const dims = { B: 1, Hq: 1, Hkv: 1, Lq: 40, Lk: 40, D: 8, Dv: 8 };
    const mask = { data: Uint8Array.from({ length: 16 }, (_, e) => +(e % 5 === 0)), shape: [1, 1, 4, 4] };
    const m = validateVariants({ blockMask: { mask, blockSize: [10, 10] } }, dims).blockMask!;
    expect(blockOn(m, 0, 0, 2, 2)).toBe(true);
    const { words, tileWords } = blockTileBits(m, dims, { blockQ: 8, tileKv: 16, qBlocks: 5 });
    expect(tileWords).toBe(1);
    // Row block 0 (rows 0–7, query block 0: keys 0–9): tile 0. Row block 1 (rows 8–15: query blocks 0, 1:
    // keys 0–19): tiles 0, 1. Row block 2 (16–23: block 1 and 2, keys 10–29): tiles 0, 1. Block 3
    // (24–31: blocks 2, 3, keys 20–39): tiles 1, 2. Block 4 (32–39: block 3, keys 30–39): tiles 1, 2.
    expect(Array.from(words)).toEqual([0b001, 0b011, 0b011, 0b110, 0b110]);
  });
});
