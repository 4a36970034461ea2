/**
 * The reference's variations of sdpa, against their definitions: sigmoid weights by hand, hard
 * attention as the argmax's value row, top-k ≥ Lk as plain softmax, and a block mask equal to the
 * boolean mask it expands to; NaN and rows without keys.
 */
import { describe, expect, it } from 'vitest';
import { reference, sparsePatterns } from '../../src/index';
import { rng } from '../cases';

const host = (seed: string, shape: number[]) => {
  const next = rng(seed);
  return { data: Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 2 * next() - 1), shape };
};

describe('reference variations', () => {
  it('sigmoid: Σ sigmoid(s + b)·v, no normalisation; the default bias is −ln Lk', () => {
    const q = { data: [1, 0], shape: [1, 1, 1, 2] };
    const k = { data: [1, 0, 0, 1, -1, 0], shape: [1, 1, 3, 2] };
    const v = { data: [1, 2, 4], shape: [1, 1, 3, 1] };
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    const b = -Math.log(3);
    const s = [1, 0, -1].map((x) => x / Math.SQRT2);
    const r = reference.sdpa(q, k, v, { normalization: 'sigmoid', returnWeights: true });
    expect(r.weights.data[0]).toBeCloseTo(sig(s[0] + b), 14);
    expect(r.output.data[0]).toBeCloseTo(sig(s[0] + b) + 2 * sig(s[1] + b) + 4 * sig(s[2] + b), 14);
    const masked = reference.sdpa(q, k, v, {
      normalization: 'sigmoid',
      sigmoidBias: 0,
      mask: { data: new Uint8Array([0, 0, 0]), shape: [1, 3] },
    });
    expect(Array.from(masked.data)).toEqual([0]);
  });

  it('hard attention returns the value row of the argmax (ties to the lower key); topK ≥ Lk is softmax', () => {
    const q = host('q', [1, 2, 5, 4]);
    const k = host('k', [1, 2, 9, 4]);
    const v = host('v', [1, 2, 9, 3]);
    const hard = reference.sdpa(q, k, v, { topK: 1, returnWeights: true });
    const w = hard.weights.data;
    for (let row = 0; row < 10; row++) {
      const weights = Array.from(w.slice(row * 9, row * 9 + 9));
      expect(weights.filter((x) => x === 1).length).toBe(1);
      expect(weights.reduce((a, b) => a + b, 0)).toBe(1);
    }
    const all = reference.sdpa(q, k, v, { topK: 9 });
    expect(Array.from(all.data)).toEqual(Array.from(reference.sdpa(q, k, v).data));
    const ties = reference.sdpa(
      { data: [0, 0], shape: [1, 1, 1, 2] },
      host('t', [1, 1, 4, 2]),
      { data: [1, 2, 3, 4], shape: [1, 1, 4, 1] },
      { topK: 2 },
    );
    expect(ties.data[0]).toBeCloseTo(1.5, 14); // all logits 0: keys 0 and 1 win
  });

  it('a NaN logit makes its row NaN under top-k; a block mask equals the boolean mask it expands to', () => {
    const k = host('k2', [1, 1, 6, 2]);
    k.data[3] = NaN;
    const r = reference.sdpa(host('q2', [1, 1, 2, 2]), k, host('v2', [1, 1, 6, 2]), { topK: 2 });
    expect(Array.from(r.data).every(Number.isNaN)).toBe(true);
    const [q, kk, v] = [host('q3', [2, 2, 20, 4]), host('k3', [2, 2, 20, 4]), host('v3', [2, 2, 20, 4])];
    const blockMask = sparsePatterns.fixed({ length: 20, blockSize: 4, stride: 2 });
    const expanded = new Uint8Array(400);
    for (let i = 0; i < 20; i++)
      for (let j = 0; j < 20; j++)
        expanded[i * 20 + j] = blockMask.mask.data[Math.floor(i / 4) * 5 + Math.floor(j / 4)] as number;
    const a = reference.sdpa(q, kk, v, { blockMask, returnLse: true });
    const b = reference.sdpa(q, kk, v, { mask: { data: expanded, shape: [20, 20] }, returnLse: true });
    expect(Array.from(a.output.data)).toEqual(Array.from(b.output.data));
    expect(Array.from(a.lse.data)).toEqual(Array.from(b.lse.data));
  });
});
