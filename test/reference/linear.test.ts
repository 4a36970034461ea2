/** reference.linear against a case worked out by hand, its shape rules, and every AttentionError path. */
import { describe, expect, it } from 'vitest';
import { AttentionError } from '../../src/errors';
import { reference } from '../../src/reference/index';
import type { HostTensor } from '../../src/contract/types';

const { linear } = reference;
const t = (data: number[] | Float32Array | Uint8Array, shape: number[]): HostTensor => ({ data, shape });

describe('reference.linear: hand-worked cases', () => {
  // x = [[1, 2, 3], [-1, 0, 2]], W = [[1, 0, 1], [2, -1, 0]] ([out = 2, in = 3]), b = [10, -5]:
  //   row 0: 1+0+3 = 4 → 14;   1·2 − 2 + 0 = 0 → −5
  //   row 1: −1+0+2 = 1 → 11;  −2 − 0 + 0 = −2 → −7
  const x = t([1, 2, 3, -1, 0, 2], [2, 3]);
  const w = t([1, 0, 1, 2, -1, 0], [2, 3]);
  const b = t([10, -5], [2]);

  it('y = x·Wᵀ + b', () => {
    const y = linear(x, w, b);
    expect(y.shape).toEqual([2, 2]);
    expect([...y.data]).toEqual([14, -5, 11, -7]);
  });
  it('without bias', () => {
    expect([...linear(x, w).data]).toEqual([4, 0, 1, -2]);
  });
  it('keeps the leading dims of x: [1, 2, 3] → [1, 2, 2]; rank 1: [3] → [2]', () => {
    const y3 = linear(t([1, 2, 3, -1, 0, 2], [1, 2, 3]), w, b);
    expect(y3.shape).toEqual([1, 2, 2]);
    expect([...y3.data]).toEqual([14, -5, 11, -7]);
    const y1 = linear(t([1, 2, 3], [3]), w, b);
    expect(y1.shape).toEqual([2]);
    expect([...y1.data]).toEqual([14, -5]);
  });
  it('accumulates in float64 (f32 would round 1e8 + 1 − 1e8 to 0)', () => {
    const y = linear(t(new Float32Array([1e8, 1, -1e8]), [1, 3]), t([1, 1, 1], [1, 3]));
    expect(y.data[0]).toBe(1);
  });
});

describe('reference.linear rejects bad input', () => {
  const w = t([1, 0, 1, 2, -1, 0], [2, 3]);
  const x = t([1, 2, 3], [1, 3]);
  function rejected(call: () => unknown, argument: string, fragment: string): void {
    let caught: unknown;
    try {
      call();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(AttentionError);
    expect((caught as AttentionError).argument).toBe(argument);
    expect((caught as AttentionError).message).toContain(fragment);
  }

  it('names x, weight and bias', () => {
    rejected(() => linear(t([1], []), w), 'x', 'rank ≥ 1');
    rejected(() => linear(x, t([1, 2, 3, 4], [2, 2])), 'weight', '[N, 3]');
    rejected(() => linear(x, t([1, 2, 3], [3])), 'weight', 'K = 3 from x');
    rejected(() => linear(x, w, t([1, 2, 3], [3])), 'bias', '[2]');
    rejected(() => linear(null as unknown as HostTensor, w), 'x', 'host tensor');
    rejected(() => linear(x, t([1, 2], [2, 3])), 'weight.data', '6 elements');
    rejected(() => linear(x, t(new Uint8Array(6), [2, 3])), 'weight.data', 'float data');
    rejected(() => linear(t([1, 2, 3], [1, -3]), w), 'x', 'positive integers');
  });
});
