/**
 * Sliding windows, dilation and global tokens in the float64 reference: worked examples, the
 * rule against a boolean mask built here from the wording of docs/semantics.md §6, and the bad-input errors.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttentionError } from '../../src/errors';
import { validateWindow } from '../../src/contract/window';
import { reference } from '../../src/reference/index';
import type { Alignment, ReferenceSdpaOptions } from '../../src/contract/types';
import { rng } from '../cases';
import { compareArrays } from '../helpers/compare';

const randomTensor = (shape: number[], seed: string) => {
  const next = rng(seed);
  return { data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => next() * 2 - 1), shape };
};

/** The keys each query row may see, read off the reference's weights (non-zero = seen). */
function seenKeys(Lq: number, Lk: number, options: ReferenceSdpaOptions): number[][] {
  const q = randomTensor([1, 1, Lq, 4], 'q');
  const k = randomTensor([1, 1, Lk, 4], 'k');
  const v = randomTensor([1, 1, Lk, 4], 'v');
  const { weights } = reference.sdpa(q, k, v, { ...options, returnWeights: true });
  return Array.from({ length: Lq }, (_, i) =>
    [...weights.data.subarray(i * Lk, (i + 1) * Lk)].flatMap((w, j) => (w > 0 ? [j] : [])),
  );
}

describe('reference.sdpa windows: worked examples', () => {
  it('window 1/0 on L=5: each query sees itself and the key before', () => {
    expect(seenKeys(5, 5, { window: { left: 1, right: 0 } })).toEqual([[0], [0, 1], [1, 2], [2, 3], [3, 4]]);
  });
  it('window 0/0 sees only itself; a window past L sees everything', () => {
    expect(seenKeys(3, 3, { window: { left: 0, right: 0 } })).toEqual([[0], [1], [2]]);
    expect(seenKeys(3, 3, { window: { left: 9, right: 9 } })).toEqual([
      [0, 1, 2],
      [0, 1, 2],
      [0, 1, 2],
    ]);
  });
  it('Mistral: causal with window W−1/0 sees the last W keys', () => {
    expect(seenKeys(5, 5, { causal: true, window: { left: 2, right: 5 } })).toEqual([
      [0],
      [0, 1],
      [0, 1, 2],
      [1, 2, 3],
      [2, 3, 4],
    ]);
  });
  it('lower-right: the window is measured from p = i + Lk − Lq', () => {
    expect(seenKeys(2, 6, { alignment: 'lower-right', window: { left: 1, right: 0 } })).toEqual([
      [3, 4],
      [4, 5],
    ]);
  });
  it('dilation 2 with window 1/1: query p sees p − 2, p, p + 2', () => {
    expect(seenKeys(6, 6, { window: { left: 1, right: 1 }, dilation: 2 })).toEqual([
      [0, 2],
      [1, 3],
      [0, 2, 4],
      [1, 3, 5],
      [2, 4],
      [3, 5],
    ]);
  });
  it('dilation 3 without a window: every third key', () => {
    expect(seenKeys(2, 7, { dilation: 3 })).toEqual([
      [0, 3, 6],
      [1, 4],
    ]);
  });
  it('global tokens: every query sees them and their queries see every key', () => {
    expect(seenKeys(5, 5, { window: { left: 0, right: 0 }, globalTokens: [3] })).toEqual([
      [0, 3],
      [1, 3],
      [2, 3],
      [0, 1, 2, 3, 4],
      [3, 4],
    ]);
  });
  it('global tokens do not lift causal', () => {
    expect(seenKeys(4, 4, { causal: true, window: { left: 0, right: 0 }, globalTokens: [2] })).toEqual([
      [0],
      [1],
      [0, 1, 2],
      [2, 3],
    ]);
  });
});

/** The rule of docs/semantics.md §6, written out on its own: the allowed keys as a boolean mask. */
function windowMask(
  Lq: number,
  Lk: number,
  o: { left: number; right: number; dilation: number; causal: boolean; alignment: Alignment; globals: number[] },
) {
  const offset = o.alignment === 'lower-right' ? Lk - Lq : 0;
  const data = new Uint8Array(Lq * Lk);
  for (let i = 0; i < Lq; i++) {
    const p = i + offset;
    for (let j = 0; j < Lk; j++) {
      const steps = (j - p) / o.dilation;
      const inWindow = Number.isInteger(steps) && (o.left < 0 || steps >= -o.left) && (o.right < 0 || steps <= o.right);
      const global = o.globals.includes(j) || o.globals.includes(p);
      data[i * Lk + j] = (inWindow || global) && (!o.causal || j <= p) ? 1 : 0;
    }
  }
  return { data, shape: [Lq, Lk] };
}

describe('reference.sdpa windows equal the same rule as a boolean mask', () => {
  it('for random windows, dilations, global tokens and alignments', () => {
    const arbitrary = fc.record({
      Lq: fc.integer({ min: 1, max: 24 }),
      Lk: fc.integer({ min: 1, max: 24 }),
      left: fc.integer({ min: -1, max: 10 }),
      right: fc.integer({ min: -1, max: 10 }),
      dilation: fc.integer({ min: 1, max: 4 }),
      causal: fc.boolean(),
      alignment: fc.constantFrom<Alignment>('upper-left', 'lower-right'),
      globals: fc.array(fc.nat(), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(arbitrary, (r) => {
        const globals = [...new Set(r.globals.map((g) => g % r.Lk))];
        const q = randomTensor([1, 2, r.Lq, 8], `q${r.Lq}`);
        const k = randomTensor([1, 2, r.Lk, 8], `k${r.Lk}`);
        const v = randomTensor([1, 2, r.Lk, 8], `v${r.Lk}`);
        const windowed = reference.sdpa(q, k, v, {
          causal: r.causal,
          alignment: r.alignment,
          window: { left: r.left, right: r.right },
          dilation: r.dilation,
          globalTokens: globals,
          returnLse: true,
        });
        const masked = reference.sdpa(q, k, v, {
          alignment: r.alignment,
          mask: windowMask(r.Lq, r.Lk, { ...r, globals }),
          returnLse: true,
        });
        expect(compareArrays(windowed.output.data, masked.output.data).ok).toBe(true);
        expect(compareArrays(windowed.lse.data, masked.lse.data).ok).toBe(true);
      }),
      { numRuns: 300, seed: 4 },
    );
  });
});

describe('window validation', () => {
  const expectError = (call: () => unknown, argument: string, fragment: string) => {
    let caught: unknown;
    try {
      call();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AttentionError);
    expect((caught as AttentionError).argument).toBe(argument);
    expect((caught as AttentionError).message).toContain(fragment);
  };

  it('resolves reaches in key positions', () => {
    expect(validateWindow({ left: 2, right: -1 }, 3, [5, 1], { Lq: 10, Lk: 10 })).toEqual({
      left: 6,
      right: -1,
      dilation: 3,
      globalTokens: [1, 5],
      sinkTokens: 0,
    });
    expect(validateWindow(undefined, undefined, undefined, { Lq: 10, Lk: 10 })).toEqual({
      left: -1,
      right: -1,
      dilation: 1,
      globalTokens: [],
      sinkTokens: 0,
    });
  });

  it('treats a reach of max(Lq, Lk) or more as unbounded, and clamps a longer dilation there', () => {
    const lengths = { Lq: 4, Lk: 9 };
    const resolve = (left: number, right: number, dilation = 1) =>
      validateWindow({ left, right }, dilation, undefined, lengths);
    expect([resolve(8, 2).left, resolve(9, 2).left, resolve(2 ** 31 - 1, 1e12).right]).toEqual([8, -1, -1]);
    expect(resolve(4, 3, 2)).toMatchObject({ left: 8, right: 6, dilation: 2 });
    expect(resolve(5, 0, 2)).toMatchObject({ left: -1, right: 0 }); // 10 positions: past every key
    expect(resolve(1, 1, 1e12)).toEqual({ left: -1, right: -1, dilation: 9, globalTokens: [], sinkTokens: 0 });
  });

  it('gives the same result for a reach past the sequence as for an unbounded one (the reference)', () => {
    const q = randomTensor([1, 2, 6, 4], 'q');
    const k = randomTensor([1, 2, 11, 4], 'k');
    const v = randomTensor([1, 2, 11, 3], 'v');
    const at = (window: { left: number; right: number }, dilation?: number) =>
      Array.from(reference.sdpa(q, k, v, { window, dilation, alignment: 'lower-right', causal: true }).data);
    expect(at({ left: 2 ** 31 - 1, right: 0 })).toEqual(at({ left: -1, right: 0 }));
    expect(at({ left: 1e15, right: 1e15 }, 3)).toEqual(at({ left: -1, right: -1 }, 3));
    // A dilation past every key leaves each query its own position (lower-right: query i at 5 + i).
    expect(at({ left: -1, right: -1 }, 2 ** 40)).toEqual(at({ left: 0, right: 0 }));
  });

  it('names the argument of each bad value', () => {
    const q = randomTensor([1, 1, 4, 2], 'q');
    const run = (options: object) => () => reference.sdpa(q, q, q, options as ReferenceSdpaOptions);
    expectError(run({ window: { left: -2, right: 0 } }), 'options.window.left', 'integer ≥ −1');
    expectError(run({ window: { left: 0 } }), 'options.window.right', 'undefined');
    expectError(run({ window: null }), 'options.window', '{ left, right }');
    expectError(run({ dilation: 0 }), 'options.dilation', 'integer ≥ 1');
    expectError(run({ globalTokens: [4] }), 'options.globalTokens', '0 … 3');
    expectError(run({ globalTokens: [-1] }), 'options.globalTokens', '-1');
    expectError(run({ globalTokens: [1, 1] }), 'options.globalTokens', 'distinct');
  });
});
