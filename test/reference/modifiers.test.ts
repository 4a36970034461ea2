/**
 * Score modifiers in the float64 reference (docs/semantics.md §6a): ALiBi's slope schedule and bias,
 * learned sinks in the denominator, sink tokens past the window — worked by hand — and their errors.
 */
import { describe, expect, it } from 'vitest';
import { AttentionError } from '../../src/errors';
import { alibiSlopes } from '../../src/contract/modifiers';
import { reference } from '../../src/reference/index';
import type { HostTensor } from '../../src/contract/types';

const t = (data: number[], shape: number[]): HostTensor => ({ data: Float64Array.from(data), shape });
// D = 1 and scale 1: the logits are q·k, plus the modifiers.
const q = t([1], [1, 1, 1, 1]);
const k = t([1, 1], [1, 1, 2, 1]);
const v = t([10, 20], [1, 1, 2, 1]);

describe('alibiSlopes: the ALiBi paper schedule', () => {
  it('is 2^(−8i/n) for a power of two n', () => {
    expect(alibiSlopes(1)).toEqual([2 ** -8]);
    expect(alibiSlopes(4)).toEqual([2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8]);
    expect(alibiSlopes(8)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => 2 ** -i));
  });
  it('takes every other slope of the next power of two past the largest power below n', () => {
    expect(alibiSlopes(6)).toEqual([2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8, 2 ** -1, 2 ** -3]);
    const twelve = alibiSlopes(12);
    expect(twelve.slice(0, 8)).toEqual(alibiSlopes(8));
    expect(twelve.slice(8)).toEqual([0.5, 1.5, 2.5, 3.5].map((e) => 2 ** -e));
  });
  it('refuses a head count that is not a positive integer', () => {
    expect(() => alibiSlopes(0)).toThrow(AttentionError);
    expect(() => alibiSlopes(2.5)).toThrow(/numHeads: got 2.5/);
  });
});

describe('worked examples', () => {
  it('ALiBi: −slope·|p − j| after the softcap (query at p = 1, keys 0 and 1)', () => {
    // Logits [1 − 1·1, 1 − 0] = [0, 1]: weights [1, e]/(1 + e).
    const out = reference.sdpa(q, k, v, { alignment: 'lower-right', alibiSlopes: [1], returnLse: true });
    const w0 = 1 / (1 + Math.E);
    expect(out.output.data[0]).toBeCloseTo(10 * w0 + 20 * (1 - w0), 12);
    expect(out.lse.data[0]).toBeCloseTo(Math.log(1 + Math.E), 12);
    // Upper-left puts the query at p = 0: logits [1, 1 − 1] and the mirror image.
    const ul = reference.sdpa(q, k, v, { alibiSlopes: [1] });
    expect(ul.data[0]).toBeCloseTo(10 * (1 - w0) + 20 * w0, 12);
  });

  it('a sink joins the denominator: logits [0, ln 3] and a sink of 0 give weights [1/5, 3/5], lse ln 5', () => {
    const k3 = t([0, Math.log(3)], [1, 1, 2, 1]);
    const out = reference.sdpa(q, k3, v, { scale: 1, sinks: [0], returnLse: true, returnWeights: true });
    expect(Array.from(out.weights.data)).toEqual([expect.closeTo(0.2, 12), expect.closeTo(0.6, 12)]);
    expect(out.output.data[0]).toBeCloseTo(14, 12);
    expect(out.lse.data[0]).toBeCloseTo(Math.log(5), 12);
    // A sink of −∞ is no sink.
    const none = reference.sdpa(q, k3, v, { sinks: [-Infinity], returnWeights: true });
    expect(Array.from(none.weights.data)).toEqual([expect.closeTo(0.25, 12), expect.closeTo(0.75, 12)]);
  });

  it('a row with no key and a sink: output 0, lse = the sink', () => {
    const out = reference.sdpa(q, k, v, { sinks: [2.5], mask: t([-Infinity, -Infinity], [1, 2]), returnLse: true });
    expect(out.output.data[0]).toBe(0);
    expect(out.lse.data[0]).toBe(2.5);
  });

  it('sink tokens stay visible past a sliding window: query 5, window 1/0, 2 sink tokens → keys 0, 1, 4, 5', () => {
    const L = 6;
    const ones = t(Array(L).fill(1), [1, 1, L, 1]);
    const values = t([1, 2, 4, 8, 16, 32], [1, 1, L, 1]);
    const options = { causal: true, window: { left: 1, right: 0 }, sinkTokens: 2, returnWeights: true } as const;
    const w = reference.sdpa(ones, ones, values, options).weights.data.slice(5 * L, 6 * L);
    expect(Array.from(w)).toEqual([0.25, 0.25, 0, 0, 0.25, 0.25]);
    // Causal still applies: query 0 sees only key 0 (a sink token after it stays hidden).
    expect(reference.sdpa(ones, ones, values, options).weights.data[1]).toBe(0);
  });
});

describe('bad modifiers', () => {
  const expectError = (call: () => unknown, argument: string, fragment: RegExp) => {
    let caught: unknown;
    try {
      call();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(AttentionError);
    expect((caught as AttentionError).argument).toBe(argument);
    expect((caught as Error).message).toMatch(fragment);
  };
  it('names the option and says what it expects', () => {
    expectError(
      () => reference.sdpa(q, k, v, { alibiSlopes: [1, 2] }),
      'options.alibiSlopes',
      /2 numbers.*1 numbers, one per query head/,
    );
    expectError(() => reference.sdpa(q, k, v, { alibiSlopes: [NaN] }), 'options.alibiSlopes', /NaN at head 0/);
    expectError(() => reference.sdpa(q, k, v, { sinks: [Infinity] }), 'options.sinks', /Infinity at head 0/);
    expectError(() => reference.sdpa(q, k, v, { sinks: 0.5 as never }), 'options.sinks', /one per query head/);
    expectError(() => reference.sdpa(q, k, v, { sinkTokens: -1 }), 'options.sinkTokens', /integer ≥ 0/);
    expectError(() => reference.sdpa(q, k, v, { alibiSlopes: [1e39] }), 'options.alibiSlopes', /float32/);
  });
});
