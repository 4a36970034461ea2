/**
 * The float64 twin of attention rollout, `reference.attentionRollout`: hand-worked cases (one and
 * two layers, each fusion, the discard with its ties and its spared diagonal), PyTorch's vectors
 * (test/data/rollout/: vit-explain's loop at discard 0, and a torch rollout whose discard sorts
 * stably), properties (rows of R sum to 1 with the residual; the order of the layers matters), and
 * the bad-input errors the GPU path shares.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { reference, type HostTensor, type RolloutOptions } from '../../src/index';
import { discarded } from '../../src/reference/rollout';
import { expectRejected } from '../helpers/rejections';
import { ROLLOUT_CASES, rolloutInputs } from '../vision-cases';

const t = (data: number[], shape: number[]): HostTensor => ({ data, shape });
const close = (got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-12) => {
  expect(got.length).toBe(want.length);
  for (let e = 0; e < want.length; e++) expect(Math.abs(got[e] - want[e]), `element ${e}`).toBeLessThanOrEqual(tol);
};

describe('hand-worked cases', () => {
  it('one layer, one head: 0.5·A + 0.5·I, rows renormalised (already summing to 1 here)', () => {
    const out = reference.attentionRollout([t([1, 0, 1, 0], [1, 1, 2, 2])], { headFusion: 'mean' });
    expect(out.shape).toEqual([1, 2, 2]);
    close(out.data, [1, 0, 0.5, 0.5]);
  });

  it('two layers: R = Â₂·Â₁, the last layer on the left', () => {
    // Â₁ = [[1, 0], [0.5, 0.5]], Â₂ = [[0.5, 0.5], [0, 1]] (A₂ = [[0, 1], [0, 1]])
    const layers = [t([1, 0, 1, 0], [1, 1, 2, 2]), t([0, 1, 0, 1], [1, 1, 2, 2])];
    close(reference.attentionRollout(layers, { headFusion: 'mean' }).data, [0.75, 0.25, 0.5, 0.5]);
    close(reference.attentionRollout([...layers].reverse(), { headFusion: 'mean' }).data, [0.5, 0.5, 0.25, 0.75]);
  });

  it('mean, max and min over heads; without residual the fused matrices multiply as they are', () => {
    const w = t([0.2, 0.8, 0.6, 0.4, 0.6, 0.4, 0.2, 0.8], [1, 2, 2, 2]); // heads [[.2, .8], [.6, .4]] and [[.6, .4], [.2, .8]]
    const raw = (headFusion: RolloutOptions['headFusion']) =>
      reference.attentionRollout([w], { headFusion, residual: false }).data;
    close(raw('mean'), [0.4, 0.6, 0.4, 0.6]);
    close(raw('max'), [0.6, 0.8, 0.6, 0.8]);
    close(raw('min'), [0.2, 0.4, 0.2, 0.4]);
    // max with the residual: rows [0.5·0.6 + 0.5, 0.4] = [0.8, 0.4] / 1.2 and [0.3, 0.9] / 1.2
    close(reference.attentionRollout([w], { headFusion: 'max' }).data, [2 / 3, 1 / 3, 0.25, 0.75]);
  });

  it('discard: the ⌊ratio·L⌋ lowest off-diagonal entries of each row, ties to the lower column', () => {
    expect(discarded([0.3, 0.1, 0.1, 0.5], 0, 1)).toEqual([false, true, false, false]);
    expect(discarded([0.3, 0.1, 0.1, 0.5], 0, 2)).toEqual([false, true, true, false]);
    expect(discarded([0.3, 0.1, 0.1, 0.5], 1, 2)).toEqual([true, false, true, false]); // the diagonal (0.1) spared, and not counted
    expect(discarded([0.25, 0.25, 0.25, 0.25], 2, 3)).toEqual([true, true, false, true]);
    expect(discarded([0.9, 0.1], 1, 0)).toEqual([false, false]);
    // L = 4, ratio 0.5: two per row; row 1 drops columns 2 and 3 (0.1 < 0.3 < 0.5, diagonal kept)
    const w = t([0.4, 0.3, 0.2, 0.1, 0.5, 0.3, 0.1, 0.1, 0.25, 0.25, 0.25, 0.25, 0.1, 0.2, 0.3, 0.4], [1, 1, 4, 4]);
    const out = reference.attentionRollout([w], { headFusion: 'mean', residual: false, discardRatio: 0.5 });
    close(out.data, [0.4, 0.3, 0, 0, 0.5, 0.3, 0, 0, 0, 0, 0.25, 0.25, 0, 0, 0.3, 0.4]);
  });

  it('⌊ratio·L⌋ is taken in float64, as Python’s int(L·ratio): 0.29·100 discards 28', () => {
    const L = 100;
    const data = Array.from({ length: L * L }, (_, e) => 0.001 + ((e * 7919) % 1000) / 1000 + 1e-6 * (e % L));
    const out = reference.attentionRollout([t(data, [1, 1, L, L])], {
      headFusion: 'max',
      residual: false,
      discardRatio: 0.29,
    });
    const zeros = Array.from(out.data.subarray(0, L)).filter((v) => v === 0).length;
    expect(zeros).toBe(28);
  });
});

interface TorchCase {
  name: string;
  weights: { shape: number[]; data: number[] }[];
  options: RolloutOptions;
  expected: { shape: number[]; data: number[] };
}

describe('PyTorch vectors (test/data/rollout/torch-vectors.json)', () => {
  const file = new URL('../data/rollout/torch-vectors.json', import.meta.url);
  const { cases } = JSON.parse(readFileSync(file, 'utf8')) as { cases: TorchCase[] };
  it('holds the cases the generator writes', () => expect(cases.length).toBe(8));
  for (const c of cases) {
    it(c.name, () => {
      const weights = c.weights.map((w) => t(w.data.map(Math.fround), w.shape));
      const out = reference.attentionRollout(weights, c.options);
      expect(out.shape).toEqual(c.expected.shape);
      // vit-explain divides columns by row sums: the same only as far as float32 softmax rows sum to 1
      close(out.data, c.expected.data, c.name.startsWith('vit-explain') ? 1e-7 : 1e-12);
    });
  }
});

describe('properties', () => {
  it('with the residual, every row of R sums to 1 (a product of row-stochastic matrices)', () => {
    for (const c of ROLLOUT_CASES.filter((c) => c.residual !== false)) {
      const out = reference.attentionRollout(rolloutInputs(c), {
        headFusion: c.headFusion,
        discardRatio: c.discardRatio,
      });
      for (let row = 0; row < c.B * c.L; row++) {
        const sum = out.data.subarray(row * c.L, (row + 1) * c.L).reduce((a, b) => a + b, 0);
        expect(Math.abs(sum - 1), `${c.name} row ${row}`).toBeLessThan(1e-12);
      }
    }
  });

  it('[B, L, L] weights are [B, 1, L, L] ones', () => {
    const [w] = rolloutInputs({ ...ROLLOUT_CASES[0], layers: 1, rank3: true });
    const o = { headFusion: 'min' as const, discardRatio: 0.3 };
    const four = reference.attentionRollout([{ ...w, shape: [2, 1, 37, 37] }], o);
    expect(reference.attentionRollout([w], o).data).toEqual(four.data);
  });
});

describe('bad input (the same errors as the GPU path)', () => {
  const a = t(new Array(2 * 25).fill(0.2), [1, 2, 5, 5]);
  const o = { headFusion: 'mean' as const };

  it('weight lists of different sizes, empty, not square, not a list', () => {
    expectRejected(
      () => reference.attentionRollout([a, t(new Array(72).fill(0), [1, 2, 6, 6])], o),
      'weights[1]',
      'as weights[0]',
    );
    expectRejected(
      () => reference.attentionRollout([a, t(new Array(25).fill(0), [1, 5, 5])], o),
      'weights[1]',
      '[1, 2, 5, 5]',
    );
    expectRejected(
      () => reference.attentionRollout([t(new Array(40).fill(0), [1, 2, 5, 4])], o),
      'weights[0]',
      '[B, H, L, L]',
    );
    expectRejected(() => reference.attentionRollout([], o), 'weights', 'non-empty');
    expectRejected(() => reference.attentionRollout(a as never, o), 'weights', 'non-empty array');
    expectRejected(() => reference.attentionRollout([a, t([1, 2], [1, 2, 5, 5])], o), 'weights[1].data', '50 elements');
  });

  it('unknown fusion, discardRatio outside [0, 1), bad residual, unknown keys', () => {
    expectRejected(
      () => reference.attentionRollout([a], { headFusion: 'median' as never }),
      'options.headFusion',
      "'mean', 'max', 'min'",
    );
    for (const discardRatio of [1, -1e-9, 2, NaN])
      expectRejected(() => reference.attentionRollout([a], { ...o, discardRatio }), 'options.discardRatio', '[0, 1)');
    expectRejected(
      () => reference.attentionRollout([a], { ...o, residual: 'yes' as never }),
      'options.residual',
      'true or false',
    );
    expectRejected(
      () => reference.attentionRollout([a], { ...o, discard: 0.5 } as never),
      'options.discard',
      'unknown key',
    );
  });
});
