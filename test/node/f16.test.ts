/**
 * f16 storage through Dawn: tensors made from Float32Array, number[] (rounded from float64 directly)
 * and raw Uint16Array halves, wrapped at half-word offsets, read back widened; every kernel reading
 * f16 (flash, naive, split-K, varlen, neighbourhood, GEMM) mixed with f32 inputs, against the
 * float64 reference on the f16-rounded inputs (then the f32 tolerance of docs/semantics.md §10
 * applies); the kernels' widening of the edge values (subnormals, 65504, ±∞, NaN); the f16 KV
 * cache (appends, growth, views, decoding) and a multi-head layer writing its K/V into one (the
 * GEMM epilogue's rounding equal to the host's, bit for bit); and every bad input, an AttentionError
 * naming the argument with nothing taken from the pool.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttention, reference, type AttentionContext, type GpuTensor, type HostTensor } from '../../src/index';
import { decodeF16, encodeF16, roundF16 } from '../../src/contract/f16';
import { rng } from '../cases';
import { compareArrays } from '../helpers/compare';
import { schedule, tokens } from '../helpers/kv-cache';
import { nodeGpu } from '../helpers/node-gpu';
import { expectRejectedOn } from '../helpers/rejections';
import { hostWeights } from '../mha-cases';

let attn: AttentionContext;
const made: { destroy(): void }[] = [];
beforeAll(async () => {
  attn = await createAttention({ gpu: await nodeGpu() });
});
afterAll(() => {
  made.splice(0).forEach((t) => t.destroy());
  attn?.destroy();
});
const keep = <T extends { destroy(): void }>(t: T): T => (made.push(t), t);

type Dtype = 'f32' | 'f16';
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Random data of `shape` (deterministic from `seed`), already rounded to f16 when `dtype` is f16. */
function host(seed: string, shape: number[], dtype: Dtype = 'f32', amplitude = 1): HostTensor & { data: Float32Array } {
  const next = rng(seed);
  const value = () => (next() * 2 - 1) * amplitude;
  const data = Float32Array.from({ length: size(shape) }, dtype === 'f16' ? () => roundF16(value()) : value);
  return { data, shape };
}
const upload = (t: HostTensor, dtype: Dtype) => keep(attn.tensor(t.data as Float32Array, [...t.shape], { dtype }));

function expectClose(actual: Float32Array, expected: ArrayLike<number>, what: string): void {
  const r = compareArrays(actual, expected);
  expect(r.ok, `${what}: ${r.message}`).toBe(true);
}

/** An app buffer holding `bits` from byte `byteOffset` (any even offset), wrapped as an f16 tensor. */
function wrapHalves(bits: Uint16Array, shape: number[], byteOffset: number): GpuTensor {
  const start = Math.floor(byteOffset / 4) * 4;
  const bytes = new Uint8Array(Math.ceil((byteOffset - start + bits.byteLength) / 4) * 4);
  bytes.set(new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength), byteOffset - start);
  const buffer = keep(
    attn.device.createBuffer({
      size: start + bytes.byteLength,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    }),
  );
  attn.device.queue.writeBuffer(buffer, start, bytes);
  return keep(attn.wrap(buffer, shape, { offset: byteOffset, dtype: 'f16' }));
}

const EDGES = [0, -0, 2 ** -24, -(2 ** -24), 1023 * 2 ** -24, 2 ** -14, 65504, -65504, 65519, 65520, 1e6, -Infinity];

describe('f16 tensors: upload, wrap, read', () => {
  it('rounds a Float32Array to nearest even (subnormals, overflow to ±∞, NaN) and reads it back widened', async () => {
    const values = Float32Array.from([...EDGES, NaN, 0.1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 3]); // odd count: padded
    const t = keep(attn.tensor(values, [values.length], { dtype: 'f16' }));
    expect([t.dtype, t.bytesPerElement, t.size]).toEqual(['f16', 2, 17]);
    const got = await t.read();
    expect(Array.from(got)).toEqual(Array.from(decodeF16(encodeF16(values))));
    expect(Array.from(got.subarray(0, 12))).toEqual([
      0,
      -0,
      2 ** -24,
      -(2 ** -24),
      1023 * 2 ** -24,
      2 ** -14,
      65504,
      -65504,
      65504,
      Infinity,
      Infinity,
      -Infinity,
    ]);
    expect(got[12]).toBeNaN();
    expect(Array.from(got.subarray(13))).toEqual([roundF16(0.1), 1, 1 + 2 ** -9, 3]);
  });

  it('rounds number[] from float64 directly (no float32 step), and takes a Uint16Array as raw halves', async () => {
    // 1 + 2^-11 + 2^-40 rounds to 1 + 2^-11 in float32, a tie that f16 would round to 1; from float64 it is 1 + 2^-10.
    const direct = keep(attn.tensor([1 + 2 ** -11 + 2 ** -40], [1], { dtype: 'f16' }));
    expect(Array.from(await direct.read())).toEqual([1 + 2 ** -10]);
    const bits = new Uint16Array([0x3c00, 0x8001, 0x7bff, 0xfc00, 0x7e01, 0x0000]);
    const raw = keep(attn.tensor(bits, [2, 3], { dtype: 'f16' }));
    const got = await raw.read();
    expect(Array.from(got.subarray(0, 4))).toEqual([1, -(2 ** -24), 65504, -Infinity]);
    expect(got[4]).toBeNaN();
    expect(raw.shape).toEqual([2, 3]);
  });

  it('wraps halves at any even byte offset, inside a word too', async () => {
    const values = [1.5, -2, 0.25, 7, 65504, -(2 ** -20), 3];
    for (const offset of [0, 2, 6, 258]) {
      const t = wrapHalves(encodeF16(values), [values.length], offset);
      expect([t.byteOffset, t.dtype]).toEqual([offset, 'f16']);
      expect(Array.from(await t.read())).toEqual(values.map(roundF16));
    }
  });

  it('the kernels widen every edge value exactly: one key gives its value row back, at an odd half offset', async () => {
    const row = EDGES.filter((x) => Number.isFinite(x) && Math.abs(x) <= 65504).concat([0.1, -3]);
    const Dv = row.length;
    const v = wrapHalves(encodeF16(row), [1, 1, 1, Dv], 6); // element 0 at half 3 of the buffer
    const q = upload({ data: new Float32Array([0.5, 0.25]), shape: [1, 1, 1, 2] }, 'f32');
    const k = upload({ data: new Float32Array([1, 2]), shape: [1, 1, 1, 2] }, 'f16');
    const want = row.map(roundF16).map((x) => x + 0); // −0 · 1 + 0 accumulates as +0
    for (const op of ['sdpa', 'sdpaNaive'] as const) {
      const o = keep(op === 'sdpa' ? attn.sdpa(q, k, v) : attn.sdpaNaive(q, k, v));
      expect(Array.from(await o.read()), op).toEqual(want);
    }
  });
});

/** The 8 ways q, k and v can be stored. */
const MIXES: [Dtype, Dtype, Dtype][] = (['f32', 'f16'] as const).flatMap((q) =>
  (['f32', 'f16'] as const).flatMap((k) => (['f32', 'f16'] as const).map((v) => [q, k, v] as [Dtype, Dtype, Dtype])),
);

describe('sdpa with f16 inputs against the reference on the f16-rounded data', () => {
  const [B, Hq, Hkv, L, D, Dv] = [2, 4, 2, 21, 11, 6];
  for (const [qd, kd, vd] of MIXES) {
    it(`q ${qd}, k ${kd}, v ${vd}: flash and naive, causal, GQA, odd head dims, float mask ${kd}`, async () => {
      const q = host(`mix q ${qd}`, [B, Hq, L, D], qd);
      const k = host(`mix k ${kd}`, [B, Hkv, L, D], kd);
      const v = host(`mix v ${vd}`, [B, Hkv, L, Dv], vd);
      const mask = host(`mix mask ${kd}`, [L, L], kd, 3);
      const options = { causal: true, returnLse: true } as const;
      const want = reference.sdpa(q, k, v, { ...options, mask });
      const gpu = { q: upload(q, qd), k: upload(k, kd), v: upload(v, vd), mask: upload(mask, kd) };
      const flash = attn.sdpa(gpu.q, gpu.k, gpu.v, { ...options, mask: gpu.mask });
      const naive = attn.sdpaNaive(gpu.q, gpu.k, gpu.v, { ...options, mask: gpu.mask });
      for (const [name, r] of [
        ['flash', flash],
        ['naive', naive],
      ] as const) {
        [r.output, r.lse!].forEach(keep);
        expect(r.output.dtype, 'outputs are f32').toBe('f32');
        expectClose(await r.output.read(), want.output.data, `${name} output`);
        expectClose(await r.lse!.read(), want.lse!.data, `${name} lse`);
      }
    });
  }

  it('split-K decoding over 3000 f16 keys (forced 7 splits), bshd f16 q', async () => {
    const [Lq, Lk] = [2, 3000];
    const q = host('split q', [1, Lq, 8, 64], 'f16');
    const k = host('split k', [1, Lk, 2, 64], 'f16');
    const v = host('split v', [1, Lk, 2, 64], 'f16');
    const options = { causal: true, alignment: 'lower-right', layout: 'bshd', returnLse: true } as const;
    const want = reference.sdpa(q, k, v, options);
    const [qg, kg, vg] = [upload(q, 'f16'), upload(k, 'f16'), upload(v, 'f16')];
    for (const tile of [undefined, { blockQ: 16, tileKv: 32, kvSplits: 7 }]) {
      const r = attn.sdpa(qg, kg, vg, { ...options, tile });
      [r.output, r.lse].forEach(keep);
      expectClose(await r.output.read(), want.output.data, `output, tile ${JSON.stringify(tile)}`);
      expectClose(await r.lse.read(), want.lse!.data, `lse, tile ${JSON.stringify(tile)}`);
    }
  });

  it('sdpaVarlen with f16 k and v, f32 q (three sequences, one without keys)', async () => {
    const [cuQ, cuK] = [
      [0, 5, 6, 19],
      [0, 9, 9, 30],
    ];
    const [Hq, Hkv, D] = [4, 2, 10];
    const q = host('varlen q', [19, Hq, D]);
    const k = host('varlen k', [30, Hkv, D], 'f16');
    const v = host('varlen v', [30, Hkv, D], 'f16');
    const options = {
      cuSeqlensQ: cuQ,
      cuSeqlensK: cuK,
      causal: true,
      alignment: 'lower-right',
      returnLse: true,
    } as const;
    const want = reference.sdpaVarlen(q, k, v, options);
    const r = attn.sdpaVarlen(upload(q, 'f32'), upload(k, 'f16'), upload(v, 'f16'), options);
    [r.output, r.lse].forEach(keep);
    expectClose(await r.output.read(), want.output.data, 'output');
    expectClose(await r.lse.read(), want.lse!.data, 'lse');
  });
});

describe('neighbourhood attention and linear with f16 inputs', () => {
  it('neighborhood2d: f16 q and rpb, f32 k, f16 v (7 × 9 map, kernel 3, dilation 2, odd dims)', async () => {
    const [Y, X, D] = [7, 9, 5];
    const q = host('na q', [1, 2, Y, X, D], 'f16');
    const k = host('na k', [1, 2, Y, X, D]);
    const v = host('na v', [1, 2, Y, X, 3], 'f16');
    const rpb = host('na rpb', [2, 5, 5], 'f16');
    const want = reference.neighborhood2d(q, k, v, { kernel: 3, dilation: 2, rpb });
    const got = keep(
      attn.neighborhood2d(upload(q, 'f16'), upload(k, 'f32'), upload(v, 'f16'), {
        kernel: 3,
        dilation: 2,
        rpb: upload(rpb, 'f16'),
      }),
    );
    expectClose(await got.read(), want.data, 'output');
  });

  it('linear: f16 weight and bias, f32 x, odd K', async () => {
    const x = host('lin x', [3, 5, 13]);
    const w = host('lin w', [7, 13], 'f16');
    const b = host('lin b', [7], 'f16');
    const want = reference.linear(x, w, b);
    const y = keep(attn.linear(upload(x, 'f32'), upload(w, 'f16'), upload(b, 'f16')));
    expect(y.dtype).toBe('f32');
    expectClose(await y.read(), want.data, 'output');
  });
});

describe('an f16 KV cache', () => {
  const [B, Hq, Hkv, D, Dv, L] = [2, 4, 2, 16, 8, 140];
  const k = host('cache k', [B, Hkv, L, D], 'f16');
  const v = host('cache v', [B, Hkv, L, Dv], 'f16');
  const q = host('cache q', [B, Hq, L, D]);

  it('appends f16 tokens (growth 3 → 192), views are f16, decoding matches the reference over the rounded tokens', async () => {
    const start = attn.stats.liveBuffers;
    const cache = attn.kvCache({ batch: B, kvHeads: Hkv, headDim: D, valueDim: Dv, capacity: 3, dtype: 'f16' });
    const refCache = reference.kvCache({ batch: B, kvHeads: Hkv, headDim: D, valueDim: Dv, capacity: 3, dtype: 'f16' });
    expect(cache.dtype).toBe('f16');
    for (const [from, to] of schedule(L, [9, 1, 50], 40)) {
      const [kStep, vStep] = [tokens(k, from, to), tokens(v, from, to)];
      const [kg, vg] = [
        attn.tensor(kStep.data, kStep.shape, { dtype: 'f16' }),
        attn.tensor(vStep.data, vStep.shape, { dtype: 'f16' }),
      ];
      cache.append(kg, vg);
      refCache.append(kStep, vStep);
      [kg, vg].forEach((t) => t.destroy());
      const qStep = tokens(q, from, to);
      const want = reference.sdpa(qStep, refCache.keys, refCache.values, { causal: true, alignment: 'lower-right' });
      const [keys, values] = [cache.keys, cache.values];
      expect([keys.dtype, values.dtype, keys.contiguous]).toEqual(['f16', 'f16', false]);
      const qg = attn.tensor(qStep.data, qStep.shape);
      for (const op of ['sdpa', 'sdpaNaive'] as const) {
        const options = { causal: true, alignment: 'lower-right' } as const;
        const o = op === 'sdpa' ? attn.sdpa(qg, keys, values, options) : attn.sdpaNaive(qg, keys, values, options);
        expectClose(await o.read(), want.data, `${op}, tokens ${from}…${to - 1}`);
        o.destroy();
      }
      qg.destroy();
    }
    expect([cache.length, cache.capacity]).toEqual([L, 192]);
    expect(Array.from(await cache.keys.read())).toEqual(Array.from(k.data));
    expect(Array.from(await cache.values.read())).toEqual(Array.from(v.data));
    cache.destroy();
    expect(attn.stats.liveBuffers).toBe(start);
  }, 120_000);

  it('a multi-head layer writes its K/V into the f16 cache: the device rounds exactly as the host, and decoding matches the reference layer', async () => {
    const [E, H, Hk, steps, prefill] = [64, 4, 2, 10, 6];
    const hd = E / H;
    const x = host('layer x', [1, prefill + steps, E]);
    const weightsHost = hostWeights('f16 layer', { E, H, Hkv: Hk }, false, true);
    const weights = Object.fromEntries(Object.entries(weightsHost).map(([n, w]) => [n, upload(w, 'f32')]));
    const config = { embedDim: E, numHeads: H, numKvHeads: Hk, rotary: { interleaved: true } };
    const layer = keep(attn.multiHeadAttention({ ...config, weights } as never));
    const refLayer = reference.multiHeadAttention({ ...config, weights: weightsHost } as never);
    const halves = keep(attn.kvCache({ batch: 1, kvHeads: Hk, headDim: hd, capacity: 4, dtype: 'f16' }));
    const floats = keep(attn.kvCache({ batch: 1, kvHeads: Hk, headDim: hd, capacity: 4 }));
    const refCache = reference.kvCache({ batch: 1, kvHeads: Hk, headDim: hd, capacity: 4, dtype: 'f16' });
    for (const [from, to] of schedule(prefill + steps, [prefill])) {
      const xs = tokensOf(x, from, to);
      const xg = upload(xs, 'f32');
      const y = keep(layer.forward(xg, { causal: true, cache: halves }));
      keep(layer.forward(xg, { causal: true, cache: floats }));
      const want = refLayer.forward(xs, { causal: true, cache: refCache }) as { data: Float64Array };
      // K/V rounded once to f16 (on the device from f32, in the reference from float64): a value
      // within float32's error of a rounding boundary may land one f16 step apart, which moves the
      // output by about 2⁻¹¹ relative; the plain f32 tolerance holds for these seeds.
      expectClose(await y.read(), want.data, `tokens ${from}…${to - 1}`);
    }
    // The epilogue's rounding (f16_bits in linear.wgsl) against the host's, on the very f32 values the GEMM made.
    for (const part of ['keys', 'values'] as const) {
      const wide = await floats[part].read();
      const stored = await halves[part].read();
      expect(Array.from(stored), part).toEqual(Array.from(decodeF16(encodeF16(wide))));
      // Against the reference's rounding from float64: equal, or one f16 step apart (≤ 2⁻¹⁰·|x|) at a near-tie.
      const steps = Array.from(
        refCache[part].data,
        (r, i) => Math.abs(r - stored[i]) / (2 ** -10 * Math.max(Math.abs(r), 2 ** -14)),
      );
      expect(Math.max(...steps), part).toBeLessThanOrEqual(1);
    }
  }, 120_000);
});

/** Rows [from, to) of x [B, L, E]. */
function tokensOf(
  x: HostTensor & { data: Float32Array },
  from: number,
  to: number,
): HostTensor & { data: Float32Array } {
  const [Bx, , E] = x.shape;
  const L = x.shape[1];
  const out = new Float32Array(Bx * (to - from) * E);
  for (let b = 0; b < Bx; b++) out.set(x.data.subarray((b * L + from) * E, (b * L + to) * E), b * (to - from) * E);
  return { data: out, shape: [Bx, to - from, E] };
}

describe('bad input: an AttentionError naming the argument, nothing taken from the pool', () => {
  it('tensor creation: raw halves without dtype, an unknown dtype, bad options; wrap at an odd byte offset', () => {
    const halves = new Uint16Array(4);
    expectRejectedOn(attn, () => attn.tensor(halves, [4]), 'data', "pass { dtype: 'f16' }");
    expectRejectedOn(
      attn,
      () => attn.tensor(new Float32Array(4), [4], { dtype: 'bf16' as never }),
      'options.dtype',
      "'f16'",
    );
    expectRejectedOn(attn, () => attn.tensor(new Float32Array(4), [4], null as never), 'options');
    expectRejectedOn(attn, () => attn.tensor(new Uint8Array(4) as never, [4], { dtype: 'f16' }), 'data', 'Uint16Array');
    expectRejectedOn(attn, () => attn.tensor(halves, [5], { dtype: 'f16' }), 'data', '5 elements for shape [5]');
    const buffer = keep(attn.device.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE }));
    expectRejectedOn(
      attn,
      () => attn.wrap(buffer, [4], { offset: 3, dtype: 'f16' }),
      'options.offset',
      'multiple of 2',
    );
    expectRejectedOn(attn, () => attn.wrap(buffer, [4], { dtype: 'half' as never }), 'options.dtype', "'f16'");
    expectRejectedOn(attn, () => attn.wrap(buffer, [32], { offset: 2, dtype: 'f16' }), 'shape', "buffer's 64 bytes");
  });

  it('KV cache: f32 tokens for an f16 cache and the reverse, f16 tokens at a byte offset inside a word, odd dims', () => {
    const half = keep(attn.kvCache({ batch: 1, kvHeads: 1, headDim: 4, capacity: 4, dtype: 'f16' }));
    const full = keep(attn.kvCache({ batch: 1, kvHeads: 1, headDim: 4, capacity: 4 }));
    const f32 = upload(host('bad', [1, 1, 2, 4]), 'f32');
    const f16 = upload(host('bad', [1, 1, 2, 4], 'f16'), 'f16');
    expectRejectedOn(
      attn,
      () => half.append(f32, f16),
      'k',
      'an f32 GpuTensor [1, 1, 2, 4] for an f16 cache',
      "dtype: 'f16'",
    );
    expectRejectedOn(attn, () => half.append(f16, f32), 'v', 'for an f16 cache');
    expectRejectedOn(attn, () => full.append(f16, f16), 'k', 'an f16 GpuTensor [1, 1, 2, 4] for an f32 cache');
    const inside = wrapHalves(encodeF16(new Float32Array(8)), [1, 1, 2, 4], 2);
    expectRejectedOn(attn, () => half.append(f16, inside), 'v', 'byte offset 2', 'multiple of 4');
    expectRejectedOn(
      attn,
      () => attn.kvCache({ batch: 1, kvHeads: 1, headDim: 5, capacity: 4, dtype: 'f16' }),
      'options.headDim',
      'odd',
    );
    expect([half.length, full.length]).toEqual([0, 0]);
  });
});
