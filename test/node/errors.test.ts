/**
 * Bad input: each rejected call throws an AttentionError naming the argument, with what was
 * given and what was expected; nothing is enqueued (no buffer is taken from the pool) and the
 * context stays usable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttention, DeviceLostError, type AttentionContext, type GpuTensor } from '../../src/index';
import { nodeGpu } from '../helpers/node-gpu';
import { expectRejectedOn } from '../helpers/rejections';

let attn: AttentionContext;
let other: AttentionContext;
beforeAll(async () => {
  attn = await createAttention({ gpu: await nodeGpu() });
  other = await createAttention({ gpu: await nodeGpu() });
});
afterAll(() => {
  attn?.destroy();
  other?.destroy();
});

const zeros = (shape: number[]) => new Float32Array(shape.reduce((a, b) => a * b, 1));
const t = (shape: number[]) => attn.tensor(zeros(shape), shape);

describe('sdpa rejects bad input', () => {
  let q: GpuTensor, k: GpuTensor, v: GpuTensor;
  beforeAll(() => {
    q = t([1, 4, 7, 8]);
    k = t([1, 2, 9, 8]);
    v = t([1, 2, 9, 16]);
  });

  it('wrong rank', () => {
    const q3 = t([4, 7, 8]);
    expectRejectedOn(attn, () => attn.sdpa(q3, k, v), 'q', '[4, 7, 8]', '4 positive integers');
  });
  it('mismatched batch', () => {
    const k2 = t([2, 2, 9, 8]);
    expectRejectedOn(attn, () => attn.sdpa(q, k2, v), 'k', 'batch 2', 'batch 1');
  });
  it('mismatched head dim of k', () => {
    const k4 = t([1, 2, 9, 4]);
    expectRejectedOn(attn, () => attn.sdpa(q, k4, v), 'k', 'head dim 4', 'head dim 8');
  });
  it('v with other keys or heads than k', () => {
    const v5 = t([1, 2, 5, 16]);
    const v1 = t([1, 1, 9, 16]);
    expectRejectedOn(attn, () => attn.sdpa(q, k, v5), 'v', '5 keys', '9 keys');
    expectRejectedOn(attn, () => attn.sdpa(q, k, v1), 'v', '1 heads', '2 heads');
  });
  it('Hq not a multiple of Hkv', () => {
    const k3 = t([1, 3, 9, 8]);
    const v3 = t([1, 3, 9, 16]);
    expectRejectedOn(attn, () => attn.sdpa(q, k3, v3), 'k', '3 kv heads for 4 query heads');
  });
  it('mask that does not broadcast', () => {
    const m1 = t([1, 4, 7, 5]);
    const m2 = attn.mask(new Uint8Array(63), [7, 9, 1]);
    expectRejectedOn(attn, () => attn.sdpa(q, k, v, { mask: m1 }), 'options.mask', '[1, 4, 7, 5]', 'right-aligned');
    expectRejectedOn(attn, () => attn.sdpa(q, k, v, { mask: m2 }), 'options.mask', '[7, 9, 1]');
  });
  it('mask that is not a tensor', () => {
    expectRejectedOn(
      attn,
      () => attn.sdpa(q, k, v, { mask: new Float32Array(63) as unknown as GpuTensor }),
      'options.mask',
      'GpuMask',
    );
  });
  it('non-finite or non-positive scale', () => {
    expectRejectedOn(attn, () => attn.sdpa(q, k, v, { scale: Number.NaN }), 'options.scale', 'NaN', '> 0');
    expectRejectedOn(attn, () => attn.sdpa(q, k, v, { scale: Infinity }), 'options.scale', 'Infinity');
    expectRejectedOn(attn, () => attn.sdpa(q, k, v, { scale: 0 }), 'options.scale', '0');
    expectRejectedOn(attn, () => attn.sdpa(q, k, v, { scale: -1 }), 'options.scale', '-1');
  });
  it('negative softcap', () => {
    expectRejectedOn(attn, () => attn.sdpa(q, k, v, { softcap: -2 }), 'options.softcap', '-2', '≥ 0');
  });
  it('unknown layout or alignment', () => {
    expectRejectedOn(attn, () => attn.sdpa(q, k, v, { layout: 'bsdh' as 'bshd' }), 'options.layout', "'bsdh'");
    expectRejectedOn(
      attn,
      () => attn.sdpa(q, k, v, { causal: true, alignment: 'middle' as 'upper-left' }),
      'options.alignment',
      "'middle'",
    );
  });
  it('bad window, dilation and global tokens', () => {
    expectRejectedOn(
      attn,
      () => attn.sdpa(q, k, v, { window: { left: -2, right: 0 } }),
      'options.window.left',
      '-2',
      'integer ≥ −1',
    );
    expectRejectedOn(
      attn,
      () => attn.sdpa(q, k, v, { window: { left: 1, right: 0.5 } }),
      'options.window.right',
      '0.5',
    );
    expectRejectedOn(attn, () => attn.sdpa(q, k, v, { window: 3 as never }), 'options.window', '{ left, right }');
    expectRejectedOn(attn, () => attn.sdpa(q, k, v, { dilation: 0 }), 'options.dilation', 'integer ≥ 1');
    expectRejectedOn(attn, () => attn.sdpaNaive(q, k, v, { dilation: 1.5 }), 'options.dilation', '1.5');
    expectRejectedOn(
      attn,
      () => attn.sdpa(q, k, v, { window: { left: 1, right: 1 }, globalTokens: [0, 9] }),
      'options.globalTokens',
      '9',
      '0 … 8',
    );
    expectRejectedOn(
      attn,
      () => attn.sdpa(q, k, v, { window: { left: 1, right: 1 }, globalTokens: [2, 2] }),
      'options.globalTokens',
      '2 twice',
      'distinct',
    );
    expectRejectedOn(attn, () => attn.sdpa(q, k, v, { globalTokens: 4 as never }), 'options.globalTokens', 'an array');
  });
  it('unknown tile', () => {
    expectRejectedOn(attn, () => attn.sdpa(q, k, v, { tile: { blockQ: 12, tileKv: 32 } }), 'options.tile', 'blockQ');
  });
  it('a tensor from another context', () => {
    const foreign = other.tensor(zeros([1, 4, 7, 8]), [1, 4, 7, 8]);
    expectRejectedOn(attn, () => attn.sdpa(foreign, k, v), 'q', 'context', 'this context');
    foreign.destroy();
  });
  it('a destroyed tensor', () => {
    const dead = t([1, 2, 9, 16]);
    dead.destroy();
    expectRejectedOn(attn, () => attn.sdpa(q, k, dead), 'v', 'destroyed');
  });
  it('a boolean mask where a tensor is expected', () => {
    const boolQ = attn.mask(new Uint8Array(56), [1, 1, 7, 8]) as unknown as GpuTensor;
    expectRejectedOn(attn, () => attn.sdpa(boolQ, k, v), 'q', 'GpuMask');
  });
  it('the naive path refuses a score matrix past the buffer limit instead of returning garbage', () => {
    const limit = Math.min(attn.device.limits.maxStorageBufferBindingSize, attn.device.limits.maxBufferSize);
    const L = Math.ceil(Math.sqrt(limit / 4 / 8)) + 64;
    const big = attn.tensor(new Float32Array(8 * L), [1, 8, L, 1]);
    expectRejectedOn(attn, () => attn.sdpaNaive(big, big, big), 'q', 'scores', 'attn.sdpa');
    big.destroy();
  });
});

describe('tensor creation rejects bad input', () => {
  it('data length not matching the shape', () => {
    expectRejectedOn(attn, () => attn.tensor(new Float32Array(5), [2, 3]), 'data', '5 elements', '6 elements');
    expectRejectedOn(attn, () => attn.mask(new Uint8Array(5), [2, 3]), 'data', '5 elements', '6 elements');
  });
  it('bad shapes and data types', () => {
    expectRejectedOn(attn, () => attn.tensor(new Float32Array(0), []), 'shape', 'non-empty');
    expectRejectedOn(attn, () => attn.tensor(new Float32Array(6), [2, 3.5]), 'shape');
    expectRejectedOn(
      attn,
      () => attn.tensor(new Float64Array(6) as unknown as Float32Array, [2, 3]),
      'data',
      'Float64Array',
    );
  });
  it('sizes past the device buffer limit', () => {
    const limit = Math.min(attn.device.limits.maxStorageBufferBindingSize, attn.device.limits.maxBufferSize);
    const huge = { length: limit / 4 + 1 } as unknown as number[];
    expectRejectedOn(
      attn,
      () => attn.tensor(Object.assign([], huge), [limit / 4 + 1]),
      'data',
      'bytes',
      'buffer binding limit',
    );
  });
  it('wrap: offsets, sizes and usage', () => {
    const buffer = attn.device.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    expectRejectedOn(attn, () => attn.wrap(buffer, [4, 4], { offset: 4 }), 'shape', 'within the buffer');
    expectRejectedOn(attn, () => attn.wrap(buffer, [2], { offset: 2 }), 'options.offset', 'multiple of 4');
    const uniform = attn.device.createBuffer({ size: 64, usage: GPUBufferUsage.UNIFORM });
    expectRejectedOn(attn, () => attn.wrap(uniform, [4]), 'buffer', 'STORAGE');
    expectRejectedOn(attn, () => attn.wrap({} as GPUBuffer, [4]), 'buffer', 'GPUBuffer');
    buffer.destroy();
    uniform.destroy();
  });
});

describe('after rejected calls', () => {
  it('the context still computes', async () => {
    const q = attn.tensor([1, 0, 0, 1], [1, 1, 2, 2]);
    const v = attn.tensor([1, 2, 3, 4], [1, 1, 2, 2]);
    const out = await attn.sdpa(q, q, v, { scale: 1000 }).read();
    expect(Array.from(out).map((x) => Math.round(x * 1e4) / 1e4)).toEqual([1, 2, 3, 4]);
  });
});

describe('a destroyed context', () => {
  it('refuses new work with DeviceLostError and says what to do', async () => {
    const ctx = await createAttention({ gpu: await nodeGpu() });
    const q = ctx.tensor(zeros([1, 1, 2, 2]), [1, 1, 2, 2]);
    ctx.destroy();
    expect(ctx.alive).toBe(false);
    expect(() => ctx.sdpa(q, q, q)).toThrow(DeviceLostError);
    expect(() => ctx.tensor([1], [1])).toThrow(/createAttention/);
  });
});
