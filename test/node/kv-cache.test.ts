/**
 * Node GPU ring for `attn.kvCache` against `reference.kvCache` / `reference.sdpa` (float64): decode
 * steps of 1–16 queries over 1 to ~3000 cached keys through the flash and naive kernels (the cache's
 * strided views, no copy), appends across growth, reset, the rules of the views (snapshots across
 * appends, stale after growth / reset / destroy, reads that outlive them), every bad input (an
 * AttentionError, the cache unchanged, nothing taken from the pool or submitted), operations that
 * refuse strided views, and the pool back where it started after destroy().
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAttention,
  reference,
  type AttentionContext,
  type GpuTensor,
  type HostTensor,
  type KvCache,
  type MhaConfig,
  type ReferenceMhaConfig,
} from '../../src/index';
import { compareArrays } from '../helpers/compare';
import { nodeGpu } from '../helpers/node-gpu';
import { expectRejectedOn } from '../helpers/rejections';
import { rows, schedule, tokens } from '../helpers/kv-cache';
import { hostWeights, random } from '../mha-cases';

let attn: AttentionContext;
let submits = 0;
beforeAll(async () => {
  attn = await createAttention({ gpu: await nodeGpu() });
  attn.runtime.onSubmit = () => submits++;
});
afterAll(() => attn?.destroy());

const upload = (t: HostTensor) => attn.tensor(t.data as Float32Array, [...t.shape]);

function expectClose(actual: Float32Array, expected: ArrayLike<number>, what: string): void {
  const r = compareArrays(actual, expected);
  expect(r.ok, `${what}: ${r.message}`).toBe(true);
}

/** Appends tokens [from, to) of host k and v; the uploaded step tensors are freed at once (queue order). */
function append(cache: KvCache, k: HostTensor, v: HostTensor, from: number, to: number): void {
  const [kStep, vStep] = [upload(tokens(k, from, to)), upload(tokens(v, from, to))];
  cache.append(kStep, vStep);
  kStep.destroy();
  vStep.destroy();
}

/** An AttentionError on `argument`; the cache's length, capacity and contents as before; nothing submitted. */
async function expectRefused(cache: KvCache, call: () => unknown, argument: string, ...fragments: string[]) {
  const [length, capacity, before] = [cache.length, cache.capacity, submits];
  const keys = length > 0 ? await cache.keys.read() : null;
  expectRejectedOn(attn, call, argument, ...fragments);
  expect([cache.length, cache.capacity, submits]).toEqual([length, capacity, before]);
  if (keys) expect(await cache.keys.read()).toEqual(keys);
}

describe('decoding over a KV cache against the reference', () => {
  const [B, Hq, Hkv, D, Dv, L] = [1, 4, 2, 64, 32, 3100];
  const q = random('decode q', [B, Hq, L, D]);
  const k = random('decode k', [B, Hkv, L, D], 2);
  const v = random('decode v', [B, Hkv, L, Dv]);
  // Lq 1 from Lk 1, single tokens, a prefill to ~1500, steps of 16, 7 and 1, another prefill past 3000.
  const steps = schedule(L, [1, 1, 3, 16, 1480, 1, 16, 7, 1, 1200, 16, 1, 5], 16);

  it(`flash: ${steps.length} steps, Lq 1–1480, Lk 1–${L}, capacity 16 → grown, GQA, causal lower-right`, async () => {
    const cache = attn.kvCache({ batch: B, kvHeads: Hkv, headDim: D, valueDim: Dv, capacity: 16 });
    const start = attn.stats.liveBuffers;
    for (const [from, to] of steps) {
      append(cache, k, v, from, to);
      expect(cache.length).toBe(to);
      const qStep = upload(tokens(q, from, to));
      const o = attn.sdpa(qStep, cache.keys, cache.values, { causal: true, alignment: 'lower-right' });
      const ref = reference.sdpa(tokens(q, from, to), tokens(k, 0, to), tokens(v, 0, to), {
        causal: true,
        alignment: 'lower-right',
      });
      expect(o.shape).toEqual([B, Hq, to - from, Dv]);
      expectClose(await o.read(), ref.data, `Lq ${to - from} Lk ${to}`);
      [qStep, o].forEach((t) => t.destroy());
    }
    expect(cache.capacity).toBe(4096);
    expect(attn.stats.liveBuffers).toBe(start);
    expectClose(await cache.keys.read(), k.data, 'keys held');
    expectClose(await cache.values.read(), v.data, 'values held');
    cache.destroy();
  }, 240_000);

  it('naive: weights and log-sum-exp over the views, Lq 1 and 16, B = 2, Dv = D', async () => {
    const [B2, H2] = [2, 2];
    const [q2, k2, v2] = ['q', 'k', 'v'].map((n) => random(`naive ${n}`, [B2, H2, 300, 16]));
    const cache = attn.kvCache({ batch: B2, kvHeads: H2, headDim: 16, capacity: 64 });
    for (const [from, to] of schedule(300, [283, 1], 16)) {
      append(cache, k2, v2, from, to);
      const qStep = upload(tokens(q2, from, to));
      const options = { causal: true, alignment: 'lower-right', returnWeights: true, returnLse: true } as const;
      const r = attn.sdpaNaive(qStep, cache.keys, cache.values, options);
      const ref = reference.sdpa(tokens(q2, from, to), tokens(k2, 0, to), tokens(v2, 0, to), options);
      expectClose(await r.output.read(), ref.output.data, 'output');
      expectClose(await r.weights!.read(), ref.weights!.data, 'weights');
      expectClose(await r.lse!.read(), ref.lse!.data, 'lse');
      [qStep, r.output, r.weights!, r.lse!].forEach((t) => t.destroy());
    }
    cache.destroy();
  }, 120_000);
});

describe('growth, reset and the views', () => {
  const [B, H, D] = [2, 3, 8];
  const k = random('grow k', [B, H, 40, D]);
  const v = random('grow v', [B, H, 40, D]);
  const make = (capacity = 4, growable = true) =>
    attn.kvCache({ batch: B, kvHeads: H, headDim: D, capacity, growable });

  it('appends across growth keep every token; capacity doubles; the pool holds two stores throughout', async () => {
    const start = attn.stats.liveBuffers;
    const cache = make();
    const capacities: number[] = [];
    for (const [from, to] of schedule(40, [3, 2, 12], 3)) {
      append(cache, k, v, from, to);
      capacities.push(cache.capacity);
      expectClose(await cache.keys.read(), tokens(k, 0, to).data, `keys after ${to}`);
      expectClose(await cache.values.read(), tokens(v, 0, to).data, `values after ${to}`);
      expect(attn.stats.liveBuffers).toBe(start + 2);
    }
    expect(capacities).toEqual([4, 8, 32, 32, 32, 32, 32, 32, 64, 64, 64]);
    cache.destroy();
    expect(attn.stats.liveBuffers).toBe(start);
  });

  it('a view is a snapshot across appends within the capacity, and stale after growth, reset or destroy', async () => {
    const cache = make(8);
    append(cache, k, v, 0, 3);
    const early = cache.keys;
    expect(cache.keys).toBe(early); // the same view until the next write
    append(cache, k, v, 3, 8); // fills the capacity: no growth
    expect(early.shape).toEqual([B, H, 3, D]);
    expectClose(await early.read(), tokens(k, 0, 3).data, 'snapshot');
    const q = upload(random('q', [B, H, 1, D]));
    attn.sdpa(q, early, early).destroy(); // still usable
    const full = cache.keys;
    append(cache, k, v, 8, 9); // grows 8 → 16
    for (const view of [early, full]) {
      expectRejectedOn(attn, () => attn.sdpa(q, view, view), 'k', 'a stale view', 'the cache grew from 8 to 16 tokens');
      await expect(view.read()).rejects.toThrow(/stale view/);
    }
    const afterGrowth = cache.values;
    cache.reset();
    append(cache, k, v, 20, 22);
    expectRejectedOn(attn, () => attn.sdpa(q, cache.keys, afterGrowth), 'v', 'the cache was reset');
    const last = cache.keys;
    cache.destroy();
    expectRejectedOn(attn, () => attn.sdpa(q, last, last), 'k', 'the cache was destroyed');
    q.destroy();
  });

  it('reset keeps the memory: length 0, capacity kept, new tokens from position 0', async () => {
    const cache = make(4);
    append(cache, k, v, 0, 9);
    const live = attn.stats.liveBuffers;
    cache.reset();
    expect([cache.length, cache.capacity, attn.stats.liveBuffers]).toEqual([0, 16, live]);
    expectRejectedOn(attn, () => cache.keys, 'cache', 'an empty cache');
    append(cache, k, v, 30, 32);
    expectClose(await cache.keys.read(), tokens(k, 30, 32).data, 'after reset');
    cache.destroy();
  });

  it('a read started before growth, reset or destroy still gets what the view held', async () => {
    const start = attn.stats.liveBuffers;
    const cache = make(4);
    append(cache, k, v, 0, 4);
    const before = [cache.keys.read(), cache.values.read()];
    append(cache, k, v, 4, 5); // growth: the old stores go back to the pool only after these reads
    const afterGrowth = cache.keys.read();
    cache.reset(); // a read holds the stores: reset takes fresh ones
    append(cache, k, v, 10, 15); // writes over position 0 … 4 of the new stores, not the read's
    const afterReset = cache.keys.read();
    cache.destroy();
    expectClose(await before[0], tokens(k, 0, 4).data, 'keys read before growth');
    expectClose(await before[1], tokens(v, 0, 4).data, 'values read before growth');
    expectClose(await afterGrowth, tokens(k, 0, 5).data, 'keys read before reset');
    expectClose(await afterReset, tokens(k, 10, 15).data, 'keys read before destroy');
    expect(attn.stats.liveBuffers).toBe(start);
  });
});

describe('bad input: an AttentionError, the cache unchanged, nothing taken or submitted', () => {
  const [B, H, D] = [1, 2, 4];
  const k = random('bad k', [B, H, 6, D]);
  const v = random('bad v', [B, H, 6, D]);
  const t = (shape: number[]) => upload(random('t', shape));

  it('options: each field named, odd dims with f16, storage past the device limit', () => {
    const good = { batch: 1, kvHeads: 2, headDim: 4, capacity: 4 };
    expectRejectedOn(attn, () => attn.kvCache({ ...good, dtype: 'bf16' as never }), 'options.dtype', "'f16'");
    expectRejectedOn(attn, () => attn.kvCache({ ...good, dtype: 'f16', headDim: 3 }), 'options.headDim', 'odd');
    expectRejectedOn(attn, () => attn.kvCache({ ...good, capacity: 0 }), 'options.capacity');
    expectRejectedOn(attn, () => attn.kvCache({ ...good, kvHeads: 1.5 }), 'options.kvHeads');
    expectRejectedOn(attn, () => attn.kvCache({ ...good, capacity: 2 ** 30 }), 'options.capacity', 'binding limit');
    const ok = attn.kvCache({ ...good, dtype: 'f32' });
    expect([ok.dtype, ok.valueDim, ok.growable, ok.length]).toEqual(['f32', 4, true, 0]);
    ok.destroy();
  });

  it('past a fixed capacity; other batch, heads, dims or tokens; a boolean or strided tensor; a destroyed cache', async () => {
    const cache = attn.kvCache({ batch: B, kvHeads: H, headDim: D, capacity: 4, growable: false });
    append(cache, k, v, 0, 3);
    const [k2, v2] = [upload(tokens(k, 0, 2)), upload(tokens(v, 0, 2))];
    await expectRefused(cache, () => cache.append(k2, v2), 'k', 'fixed capacity 4 that holds 3', 'growable: true');
    const one = t([1, 2, 1, 4]);
    const cases: [GpuTensor, GpuTensor, string, string][] = [
      [t([2, 2, 1, 4]), one, 'k', 'batch 2'],
      [t([1, 3, 1, 4]), one, 'k', 'kv heads 3'],
      [t([1, 2, 1, 5]), one, 'k', 'head dim 5'],
      [one, t([1, 2, 1, 3]), 'v', 'value dim 3'],
      [one, t([1, 2, 2, 4]), 'v', '2 tokens'],
      [t([2, 4]), one, 'k', '4 positive integers'],
    ];
    for (const [kk, vv, argument, fragment] of cases)
      await expectRefused(cache, () => cache.append(kk, vv), argument, fragment);
    const mask = attn.mask(new Uint8Array(8), [1, 2, 1, 4]);
    await expectRefused(cache, () => cache.append(mask as never, one), 'k', 'boolean');
    const other = attn.kvCache({ batch: 1, kvHeads: 2, headDim: 4, capacity: 8 });
    other.append(one, one);
    await expectRefused(cache, () => cache.append(other.keys, other.values), 'k', 'a strided view');
    cache.append(one, one); // the last free position
    expect(cache.length).toBe(4);
    cache.destroy();
    expectRejectedOn(attn, () => cache.append(one, one), 'cache', 'a destroyed KV cache');
    expectRejectedOn(attn, () => cache.keys, 'cache', 'a destroyed KV cache');
    expectRejectedOn(attn, () => cache.reset(), 'cache', 'a destroyed KV cache');
    cache.destroy(); // idempotent
    [k2, v2, one, mask, ...cases.flatMap(([a, b]) => [a, b])].forEach((x) => x.destroy());
    other.destroy();
  });

  it('operations that cannot take a strided view refuse it; a view with no gaps is an ordinary tensor', async () => {
    const cache = attn.kvCache({ batch: 1, kvHeads: 2, headDim: 4, capacity: 8 });
    const one = t([1, 2, 3, 4]);
    cache.append(one, one);
    const view = cache.keys;
    const w = t([4, 4]);
    const q1 = t([1, 2, 3, 4]);
    expectRejectedOn(attn, () => attn.linear(view, w), 'x', 'a strided view', 'element strides [64, 32, 4, 1]');
    expectRejectedOn(attn, () => attn.linear(q1, view), 'weight', 'a strided view');
    expectRejectedOn(attn, () => attn.neighborhood1d(view, q1, q1, { kernel: 3 }), 'q', 'a strided view');
    expectRejectedOn(attn, () => attn.sdpa(q1, q1, q1, { mask: view }), 'options.mask', 'a strided view');
    expectRejectedOn(attn, () => cache.append(view, view), 'k', 'a strided view');
    const mha = attn.multiHeadAttention({ embedDim: 4, numHeads: 1, weights: { q: w, k: w, v: w, o: w } });
    const x3 = attn.kvCache({ batch: 1, kvHeads: 2, headDim: 4, capacity: 8 });
    x3.append(one, one);
    expectRejectedOn(attn, () => mha.forward(x3.keys as never), 'x', 'a strided view');
    // One (batch, head) and length = capacity: the view has no gaps and goes anywhere.
    const single = attn.kvCache({ batch: 1, kvHeads: 1, headDim: 4, capacity: 3 });
    const [a, b] = [t([1, 1, 3, 4]), t([1, 1, 3, 4])];
    single.append(a, b);
    expectRejectedOn(attn, () => single.append(single.keys, single.values), 'k', "a view of this cache's own storage");
    const y = attn.linear(single.keys, w);
    const ref = reference.linear(
      { data: await a.read(), shape: [1, 1, 3, 4] },
      { data: await w.read(), shape: [4, 4] },
    );
    expectClose(await y.read(), ref.data, 'linear over a contiguous view');
    [one, w, q1, a, b, y].forEach((x) => x.destroy());
    [cache, x3, single].forEach((c) => c.destroy());
    mha.destroy();
  });
});

describe('multi-head layer with a cache: a decode loop equals the full sequence', () => {
  const [B, E, Hq, Hkv, prefill, steps] = [2, 64, 4, 2, 12, 32];
  const [hd, L] = [E / Hq, prefill + steps];
  const x = random('layer kv x', [B, L, E]);
  const layerFor = (interleaved: boolean, packed: boolean) => {
    const host = hostWeights(`layer kv ${packed}`, { E, H: Hq, Hkv }, packed, true);
    const weights = Object.fromEntries(Object.entries(host).map(([name, w]) => [name, upload(w)]));
    const sizes = { embedDim: E, numHeads: Hq, numKvHeads: Hkv, rotary: { interleaved, positionOffset: 2 } };
    return {
      gpu: attn.multiHeadAttention({ ...sizes, weights } as unknown as MhaConfig),
      ref: reference.multiHeadAttention({ ...sizes, weights: host } as unknown as ReferenceMhaConfig),
      free: () => Object.values(weights).forEach((w) => w.destroy()),
    };
  };

  for (const [interleaved, packed] of [
    [false, false],
    [true, true],
  ]) {
    it(`prefill ${prefill}, then ${steps} single tokens: rotary ${interleaved ? 'GPT-J' : 'GPT-NeoX'}, GQA ${Hq}/${Hkv}, ${packed ? 'packed' : 'separate'} weights, growth 4 → 64`, async () => {
      const start = attn.stats.liveBuffers;
      const layer = layerFor(interleaved, packed);
      const xAll = upload(x);
      const full = layer.gpu.forward(xAll, { causal: true });
      const fullRef = layer.ref.forward(x, { causal: true });
      const fullGpu = await full.read();
      expectClose(fullGpu, fullRef.data, 'full sequence against the reference');
      const cache = attn.kvCache({ batch: B, kvHeads: Hkv, headDim: hd, capacity: 4 });
      const refCache = reference.kvCache({ batch: B, kvHeads: Hkv, headDim: hd, capacity: 4 });
      for (const [from, to] of schedule(L, [prefill])) {
        const xStep = upload(rows(x, from, to));
        const y = layer.gpu.forward(xStep, { causal: true, cache });
        const yRef = layer.ref.forward(rows(x, from, to), { causal: true, cache: refCache });
        const got = await y.read();
        expectClose(got, rows({ data: fullRef.data, shape: [B, L, E] }, from, to).data, `tokens ${from}…${to - 1}`);
        expectClose(got, yRef.data, `tokens ${from}…${to - 1} against the reference decode loop`);
        expectClose(got, rows({ data: fullGpu, shape: [B, L, E] }, from, to).data, `against the GPU's full run`);
        [xStep, y].forEach((t) => t.destroy());
      }
      expect([cache.length, cache.capacity, refCache.capacity]).toEqual([L, 64, 64]);
      // The values are the projections as given; keys too, except GPT-NeoX's pair-adjacent columns.
      expectClose(await cache.values.read(), refCache.values.data, 'cached values');
      if (interleaved) expectClose(await cache.keys.read(), refCache.keys.data, 'cached keys');
      [cache, layer.gpu, xAll, full].forEach((t) => t.destroy());
      layer.free();
      expect(attn.stats.liveBuffers).toBe(start);
    }, 120_000);
  }

  it('attention weights, a window and key padding over the cached tokens', async () => {
    const layer = layerFor(false, true);
    const options = { causal: true, window: { left: 6, right: 0 }, needWeights: true, averageHeads: false } as const;
    const padding = new Uint8Array(B * 20).map((_, i) => (i % 20 === 3 ? 1 : 0));
    const full = layer.ref.forward(rows(x, 0, 20), { ...options, keyPaddingMask: { data: padding, shape: [B, 20] } });
    const cache = attn.kvCache({ batch: B, kvHeads: Hkv, headDim: hd, capacity: 32, growable: false });
    const first = upload(rows(x, 0, 17));
    layer.gpu.forward(first, { causal: true, cache }).destroy();
    const step = upload(rows(x, 17, 20));
    const mask = attn.mask(padding, [B, 20]);
    const r = layer.gpu.forward(step, { ...options, cache, keyPaddingMask: mask });
    expect(r.weights.shape).toEqual([B, Hq, 3, 20]);
    expectClose(await r.output.read(), rows(full.output, 17, 20).data, 'output');
    const w = full.weights; // [B, Hq, 20, 20]: rows 17…19 of each head
    expectClose(await r.weights.read(), tokens(w, 17, 20).data, 'weights');
    [first, step, mask, r.output, r.weights, cache, layer.gpu].forEach((t) => t.destroy());
    layer.free();
  }, 60_000);

  it('bad input: each an AttentionError, the cache unchanged, nothing taken or submitted', async () => {
    const neox = layerFor(false, false);
    const gptj = layerFor(true, true);
    const cache = attn.kvCache({ batch: B, kvHeads: Hkv, headDim: hd, capacity: 8, growable: false });
    const xs = upload(rows(x, 0, 6));
    neox.gpu.forward(xs, { causal: true, cache }).destroy();
    const one = upload(rows(x, 6, 7));
    const other = (o: object) => attn.kvCache({ batch: B, kvHeads: Hkv, headDim: hd, capacity: 8, ...o });
    const caches = [other({ kvHeads: 1 }), other({ headDim: 8 }), other({ batch: 1 }), other({ valueDim: 4 })];
    const f = (o: object) => () => neox.gpu.forward(one, o as never);
    await expectRefused(cache, f({ cache, key: one, value: one }), 'options.cache', 'cross-attention');
    await expectRefused(cache, f({ cache: caches[0] }), 'options.cache', 'kvHeads 1');
    await expectRefused(cache, f({ cache: caches[1] }), 'options.cache', 'headDim 8');
    await expectRefused(cache, f({ cache: caches[2] }), 'options.cache', 'batch 1');
    await expectRefused(cache, f({ cache: caches[3] }), 'options.cache', 'valueDim 4');
    await expectRefused(cache, f({ cache, alignment: 'upper-left' }), 'options.alignment', 'with a cache');
    await expectRefused(
      cache,
      f({ cache: reference.kvCache({ batch: B, kvHeads: Hkv, headDim: hd, capacity: 8 }) }),
      'options.cache',
      'attn.kvCache()',
    );
    const three = upload(rows(x, 6, 9));
    await expectRefused(cache, () => neox.gpu.forward(three, { cache }), 'x', 'fixed capacity 8 that holds 6');
    // GPT-NeoX keys are stored pair-adjacent: another writer kind is refused until reset().
    await expectRefused(cache, () => gptj.gpu.forward(one, { cache }), 'options.cache', 'GPT-NeoX pair-adjacent');
    const [k1, v1] = [upload(random('k1', [B, Hkv, 1, hd])), upload(random('v1', [B, Hkv, 1, hd]))];
    await expectRefused(cache, () => cache.append(k1, v1), 'k', 'GPT-NeoX pair-adjacent');
    cache.reset();
    gptj.gpu.forward(one, { cache }).destroy();
    cache.append(k1, v1);
    expect(cache.length).toBe(2);
    cache.destroy();
    expectRejectedOn(attn, f({ cache }), 'options.cache', 'a destroyed KV cache');
    [xs, one, three, k1, v1, ...caches, neox.gpu, gptj.gpu].forEach((t) => t.destroy());
    neox.free();
    gptj.free();
  }, 60_000);
});
