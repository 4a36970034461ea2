/**
 * The plan side of tuning, without a GPU: checkTuning takes back what JSON made of a tuning with
 * sdpa and GEMM entries and refuses the rest (AttentionError on options.tuning); keepTuning puts
 * each entry where its op looks it up.
 */
import { describe, expect, it } from 'vitest';
import { AttentionError } from '../../../src/index';
import { tunedLinearTile } from '../../../src/ops/linear/plan-tuning';
import { checkTuning, keepTuning, tunedTile, type Tuning } from '../../../src/ops/sdpa/tuning';

const gemmTile = { tileM: 4, tileN: 64, tileK: 32, rowBlocks: 1, colBlocks: 2 } as const;
const tuning: Tuning = {
  version: 1,
  adapter: 'unit',
  entries: [
    { shapeClass: 'D64xDv64 prefill', tile: { blockQ: 16, tileKv: 8 }, ms: 1, defaultMs: 2 },
    { shapeClass: 'linear M<=4', tile: gemmTile, ms: 3, defaultMs: 4 },
  ],
};

function argumentOf(f: () => unknown): string | null {
  try {
    f();
  } catch (e) {
    return e instanceof AttentionError ? e.argument : 'not an AttentionError';
  }
  return null;
}

describe('checkTuning and keepTuning', () => {
  it('takes back a JSON round trip of sdpa and GEMM entries, and keeps each for its op', () => {
    const back = checkTuning(JSON.parse(JSON.stringify(tuning)));
    expect(back).toEqual(tuning);
    const owner = {};
    keepTuning(owner, back.entries);
    expect(tunedLinearTile(owner, 3)).toEqual(gemmTile);
    expect(tunedLinearTile(owner, 5)).toBeUndefined();
    expect(tunedTile(owner, { B: 1, Hq: 2, Hkv: 2, Lq: 64, Lk: 64, D: 64, Dv: 64 }, false)).toEqual({
      blockQ: 16,
      tileKv: 8,
    });
    expect(tunedTile(owner, { B: 1, Hq: 2, Hkv: 2, Lq: 64, Lk: 64, D: 64, Dv: 64 }, true)).toBeUndefined();
  });

  it('refuses GEMM entries with an unknown class or tiling, naming options.tuning', () => {
    const withEntry = (entry: unknown) => ({ ...tuning, entries: [entry] });
    const bad = [
      withEntry({ shapeClass: 'linear M<=5', tile: gemmTile, ms: 1, defaultMs: 1 }),
      withEntry({ shapeClass: 'linear M<=4', tile: { ...gemmTile, colBlocks: 4 }, ms: 1, defaultMs: 1 }),
      withEntry({ shapeClass: 'linear M<=4', tile: { ...gemmTile, tileK: 12 }, ms: 1, defaultMs: 1 }),
      withEntry({ shapeClass: 'linear M<=4', tile: { blockQ: 16, tileKv: 8 }, ms: 1, defaultMs: 1 }),
      withEntry({ shapeClass: 'D64xDv64 prefill', tile: gemmTile, ms: 1, defaultMs: 1 }),
      withEntry(null),
      { version: 2, adapter: 'x', entries: [] },
    ];
    for (const t of bad)
      expect(
        argumentOf(() => checkTuning(t)),
        JSON.stringify(t),
      ).toBe('options.tuning');
    expect(() => checkTuning(bad[0])).toThrow(/linear M<=4, linear M<=8, linear M<=16, linear M>16/);
  });
});
