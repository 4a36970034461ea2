/**
 * reference.kvCache: what it holds across appends and growth, reset, every AttentionError (the cache
 * unchanged), attention over it equal to attention over the whole sequence, and the reference
 * multi-head layer with a cache: a decode loop (prefill, then single tokens; rotary, GQA, causal)
 * equal to the full sequence at once.
 */
import { describe, expect, it } from 'vitest';
import { AttentionError } from '../../src/errors';
import { reference } from '../../src/reference/index';
import { kvCache } from '../../src/reference/kv-cache';
import { roundF16 } from '../../src/contract/f16';
import type { HostTensor } from '../../src/contract/types';
import type { ReferenceMhaConfig } from '../../src/reference/multi-head';
import { hostWeights, random } from '../mha-cases';
import { rows, schedule, tokens } from '../helpers/kv-cache';

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  expect(worst).toBeLessThanOrEqual(tol);
}

function expectError(run: () => unknown, argument: string, message?: RegExp): void {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(AttentionError);
    expect((e as AttentionError).argument).toBe(argument);
    if (message) expect((e as AttentionError).message).toMatch(message);
    return;
  }
  throw new Error(`expected an AttentionError on ${argument}`);
}

describe('reference.kvCache: contents', () => {
  const [B, H, D, Dv, L] = [2, 3, 4, 5, 23];
  const k = random('kv k', [B, H, L, D]);
  const v = random('kv v', [B, H, L, Dv]);

  it('holds every appended token in order, across growth (capacity doubles)', () => {
    const cache = kvCache({ batch: B, kvHeads: H, headDim: D, valueDim: Dv, capacity: 4 });
    const capacities: number[] = [];
    for (const [from, to] of schedule(L, [3, 1, 5], 2)) {
      cache.append(tokens(k, from, to), tokens(v, from, to));
      expect(cache.length).toBe(to);
      capacities.push(cache.capacity);
      expectClose(cache.keys.data, tokens(k, 0, to).data, 0);
      expectClose(cache.values.data, tokens(v, 0, to).data, 0);
    }
    expect(cache.keys.shape).toEqual([B, H, L, D]);
    expect(cache.values.shape).toEqual([B, H, L, Dv]);
    expect(capacities).toEqual([4, 4, 16, 16, 16, 16, 32, 32, 32, 32]);
  });

  it('an f16 cache holds every value rounded to the nearest f16 (ties to even), across growth', () => {
    const cache = kvCache({ batch: B, kvHeads: H, headDim: 4, valueDim: 6, capacity: 2, dtype: 'f16' });
    const v6 = random('kv v6', [B, H, L, 6]);
    for (const [from, to] of schedule(L, [3], 5)) cache.append(tokens(k, from, to), tokens(v6, from, to));
    expectClose(cache.keys.data, Float64Array.from(k.data, roundF16), 0);
    expectClose(cache.values.data, Float64Array.from(v6.data, roundF16), 0);
    const edges = { data: [65519, 65520, -1e9, 2 ** -25, 3 * 2 ** -25, NaN, -0, 0.1], shape: [1, 1, 2, 4] };
    const small = kvCache({ batch: 1, kvHeads: 1, headDim: 4, capacity: 2, dtype: 'f16' });
    small.append(edges, edges);
    expect(Array.from(small.keys.data)).toEqual([65504, Infinity, -Infinity, 0, 2 ** -23, NaN, -0, roundF16(0.1)]);
  });

  it('one append past double the capacity grows to the next doubling that holds it', () => {
    const cache = kvCache({ batch: B, kvHeads: H, headDim: D, valueDim: Dv, capacity: 2 });
    cache.append(tokens(k, 0, 19), tokens(v, 0, 19));
    expect(cache.capacity).toBe(32);
    expectClose(cache.keys.data, tokens(k, 0, 19).data, 0);
  });

  it('reset: length 0, capacity kept, appends start again at position 0', () => {
    const cache = kvCache({ batch: B, kvHeads: H, headDim: D, valueDim: Dv, capacity: 8 });
    cache.append(tokens(k, 0, 10), tokens(v, 0, 10));
    cache.reset();
    expect([cache.length, cache.capacity]).toEqual([0, 16]);
    expectError(() => cache.keys, 'cache', /empty/);
    cache.append(tokens(k, 5, 7), tokens(v, 5, 7));
    expectClose(cache.keys.data, tokens(k, 5, 7).data, 0);
  });

  it('attention over the cache, lower-right causal, equals the last rows of attention over the whole sequence', () => {
    const [Hq, Lq] = [6, 4];
    const q = random('kv q', [B, Hq, L, D]);
    const full = reference.sdpa(q, k, v, { causal: true });
    const cache = kvCache({ batch: B, kvHeads: H, headDim: D, valueDim: Dv, capacity: 1 });
    for (const [from, to] of schedule(L, [7], Lq)) {
      cache.append(tokens(k, from, to), tokens(v, from, to));
      const step = reference.sdpa(tokens(q, from, to), cache.keys, cache.values, {
        causal: true,
        alignment: 'lower-right',
      });
      expectClose(step.data, tokens({ data: full.data, shape: [B, Hq, L, Dv] }, from, to).data);
    }
  });
});

describe('reference.kvCache: bad input, the cache unchanged', () => {
  const k = random('bad k', [1, 2, 3, 4]);
  const v = random('bad v', [1, 2, 3, 4]);
  const make = (extra: object = {}) => {
    const cache = kvCache({ batch: 1, kvHeads: 2, headDim: 4, capacity: 4, ...extra });
    cache.append(k, v);
    return cache;
  };
  const unchanged = (cache: ReturnType<typeof make>, capacity = 4) => {
    expect([cache.length, cache.capacity]).toEqual([3, capacity]);
    expectClose(cache.keys.data, k.data, 0);
    expectClose(cache.values.data, v.data, 0);
  };
  const t = (shape: number[]): HostTensor => random('t', shape);

  it('options: each bad field named; f16 needs even head dims', () => {
    const good = { batch: 1, kvHeads: 2, headDim: 4, capacity: 4 };
    expectError(() => kvCache(undefined as never), 'options');
    for (const field of ['batch', 'kvHeads', 'headDim', 'capacity', 'valueDim'])
      expectError(() => kvCache({ ...good, [field]: 0 }), `options.${field}`);
    expectError(() => kvCache({ ...good, dtype: 'f16', headDim: 5 }), 'options.headDim', /odd/);
    expectError(() => kvCache({ ...good, dtype: 'f16', valueDim: 3 }), 'options.valueDim', /even head dim/);
    expect(kvCache({ ...good, dtype: 'f16' }).dtype).toBe('f16');
    expectError(() => kvCache({ ...good, dtype: 'bf16' as never }), 'options.dtype');
    expectError(() => kvCache({ ...good, growable: 1 as never }), 'options.growable');
    expectError(() => kvCache({ ...good, layout: 'bshd' } as never), 'options.layout');
    expect(kvCache({ ...good, dtype: 'f32' }).dtype).toBe('f32');
  });

  it('appending past a fixed capacity', () => {
    const cache = make({ growable: false });
    expectError(() => cache.append(tokens(k, 0, 2), tokens(v, 0, 2)), 'k', /fixed capacity 4 that holds 3/);
    unchanged(cache);
    cache.append(tokens(k, 0, 1), tokens(v, 0, 1));
    expect(cache.length).toBe(4);
  });

  it('other batch, heads, dims or token counts', () => {
    const cache = make();
    const cases: [HostTensor, HostTensor, string, RegExp][] = [
      [t([2, 2, 1, 4]), t([2, 2, 1, 4]), 'k', /batch 2/],
      [t([1, 3, 1, 4]), t([1, 3, 1, 4]), 'k', /kv heads 3/],
      [t([1, 2, 1, 5]), t([1, 2, 1, 4]), 'k', /head dim 5/],
      [t([1, 2, 1, 4]), t([1, 2, 1, 5]), 'v', /value dim 5/],
      [t([1, 2, 1, 4]), t([1, 1, 1, 4]), 'v', /kv heads 1/],
      [t([1, 2, 1, 4]), t([1, 2, 2, 4]), 'v', /2 tokens/],
      [t([2, 1, 4]), t([1, 2, 1, 4]), 'k', /4 positive integers/],
      [{ data: new Uint8Array(8), shape: [1, 2, 1, 4] }, t([1, 2, 1, 4]), 'k.data', /boolean/],
      [{ data: new Float32Array(3), shape: [1, 2, 1, 4] }, t([1, 2, 1, 4]), 'k.data', /8 elements/],
    ];
    for (const [kk, vv, argument, message] of cases) {
      expectError(() => cache.append(kk, vv), argument, message);
      unchanged(cache);
    }
  });

  it('a destroyed cache', () => {
    const cache = make();
    cache.destroy();
    expectError(() => cache.append(k, v), 'cache', /destroyed/);
    expectError(() => cache.keys, 'cache', /destroyed/);
    expectError(() => cache.reset(), 'cache', /destroyed/);
    expect(cache.length).toBe(0);
  });
});

describe('reference.multiHeadAttention with a cache', () => {
  const [B, E, Hq, Hkv, L] = [2, 16, 4, 2, 40];
  const sizes = { E, H: Hq, Hkv };
  const x = random('mha kv x', [B, L, E]);
  const layerOf = (interleaved: boolean, packed = false) =>
    reference.multiHeadAttention({
      embedDim: E,
      numHeads: Hq,
      numKvHeads: Hkv,
      weights: hostWeights('mha kv', sizes, packed, true),
      rotary: { interleaved, positionOffset: 3 },
    } as unknown as ReferenceMhaConfig);

  for (const interleaved of [false, true]) {
    it(`a decode loop (prefill 8, then 32 steps of one token) equals the full sequence, causal (rotary ${interleaved ? 'GPT-J' : 'GPT-NeoX'}, GQA)`, () => {
      const layer = layerOf(interleaved);
      const full = layer.forward(x, { causal: true });
      const cache = kvCache({ batch: B, kvHeads: Hkv, headDim: E / Hq, capacity: 4 });
      for (const [from, to] of schedule(L, [8])) {
        const step = layer.forward(rows(x, from, to), { causal: true, cache });
        expect(cache.length).toBe(to);
        expectClose(step.data, rows({ data: full.data, shape: [B, L, E] }, from, to).data, 1e-10);
      }
      expect(cache.capacity).toBe(64);
    });
  }

  it('windows and weights follow the cached positions (lower-right)', () => {
    const layer = layerOf(false, true);
    const options = { causal: true, window: { left: 5, right: 0 }, needWeights: true } as const;
    const full = layer.forward(x, options);
    const cache = kvCache({ batch: B, kvHeads: Hkv, headDim: E / Hq, capacity: 64, growable: false });
    const [from, to] = [30, 33];
    layer.forward(rows(x, 0, from), { ...options, cache });
    const step = layer.forward(rows(x, from, to), { ...options, cache });
    expectClose(step.output.data, rows({ data: full.output.data, shape: [B, L, E] }, from, to).data, 1e-10);
    // Weights [B, L, Lk]: rows from … to − 1 over keys 0 … to − 1 (causal: none past them).
    expect(step.weights.shape).toEqual([B, to - from, to]);
    const expected = new Float64Array(B * (to - from) * to);
    for (let b = 0; b < B; b++)
      for (let i = from; i < to; i++)
        for (let j = 0; j < to; j++)
          expected[(b * (to - from) + i - from) * to + j] = full.weights.data[(b * L + i) * L + j];
    expectClose(step.weights.data, expected, 1e-10);
  });

  it('bad input: cross-attention, a cache of other sizes, upper-left, no room, not a cache; the cache unchanged', () => {
    const layer = layerOf(false);
    const hd = E / Hq;
    const cache = kvCache({ batch: B, kvHeads: Hkv, headDim: hd, capacity: 8, growable: false });
    layer.forward(rows(x, 0, 5), { cache });
    const keys = cache.keys.data;
    const step = rows(x, 5, 6);
    const other = (o: object) => kvCache({ batch: B, kvHeads: Hkv, headDim: hd, capacity: 8, ...o });
    expectError(() => layer.forward(step, { cache, key: step, value: step }), 'options.cache', /cross-attention/);
    expectError(() => layer.forward(step, { cache: other({ kvHeads: 4 }) }), 'options.cache', /kvHeads 4/);
    expectError(() => layer.forward(step, { cache: other({ headDim: 2 }) }), 'options.cache', /headDim 2/);
    expectError(() => layer.forward(step, { cache: other({ valueDim: 2 }) }), 'options.cache', /valueDim 2/);
    expectError(() => layer.forward(step, { cache: other({ batch: 1 }) }), 'options.cache', /batch 1/);
    expectError(() => layer.forward(step, { cache, alignment: 'upper-left' }), 'options.alignment');
    expectError(() => layer.forward(rows(x, 5, 9), { cache }), 'x', /fixed capacity 8 that holds 5/);
    expectError(() => layer.forward(step, { cache: {} as never }), 'options.cache', /reference\.kvCache/);
    const mask = { data: new Uint8Array(B * 5), shape: [B, 5] };
    expectError(() => layer.forward(step, { cache, keyPaddingMask: mask }), 'options.keyPaddingMask', /\[2, 6\]/);
    expect(cache.length).toBe(5);
    expectClose(cache.keys.data, keys, 0);
    const destroyed = other({});
    destroyed.destroy();
    expectError(() => layer.forward(step, { cache: destroyed }), 'options.cache', /destroyed/);
  });
});
