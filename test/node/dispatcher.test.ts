/**
 * The dispatcher around the kernels: the app's own device and buffers, offsets, the pipeline
 * cache, the buffer pool, error scopes turned into typed errors, and a lost device.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttention, DeviceLostError, GpuError, reference, type AttentionContext } from '../../src/index';
import { rng } from '../cases';
import { compareArrays } from '../helpers/compare';
import { nodeGpu } from '../helpers/node-gpu';

let device: GPUDevice;
let attn: AttentionContext;
beforeAll(async () => {
  const adapter = (await (await nodeGpu()).requestAdapter())!;
  device = await adapter.requestDevice();
  attn = await createAttention({ device });
});
afterAll(() => {
  attn?.destroy();
  device?.destroy();
});

const random = (n: number, seed: string) => {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => next() * 2 - 1);
};

describe('the app’s own device and buffers', () => {
  it('wraps buffers at unaligned offsets without a copy and matches the reference', async () => {
    const shape = [1, 2, 9, 8];
    const n = 144;
    const [q, k, v] = ['q', 'k', 'v'].map((s) => random(n, s));
    // One app buffer holding q, k and v back to back at offsets that are not multiples of 256.
    const offsets = [36, 36 + n * 4 + 12, 36 + 2 * n * 4 + 40];
    const buffer = device.createBuffer({
      size: offsets[2] + n * 4 + 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
    [q, k, v].forEach((data, i) => device.queue.writeBuffer(buffer, offsets[i], data));
    const [tq, tk, tv] = offsets.map((offset) => attn.wrap(buffer, shape, { offset }));
    const out = attn.sdpa(tq, tk, tv, { causal: true });
    const expected = reference.sdpa({ data: q, shape }, { data: k, shape }, { data: v, shape }, { causal: true });
    expect(compareArrays(await out.read(), expected.data).ok).toBe(true);
    expect(Array.from(await tk.read())).toEqual(Array.from(k));
    tq.destroy(); // wrapped: the app's buffer stays usable
    expect(Array.from(await tv.read())).toEqual(Array.from(v));
    buffer.destroy();
    out.destroy();
  });

  it('destroying the context empties its pool, refuses later calls, and leaves the app’s device and buffers alone', async () => {
    const ctx = await createAttention({ device });
    const data = random(16, 'app-owned');
    const appBuffer = device.createBuffer({
      label: 'app-owned',
      size: 64,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(appBuffer, 0, data);
    const wrapped = ctx.wrap(appBuffer, [1, 1, 4, 4]);
    const made = ctx.tensor(random(16, 'made'), [1, 1, 4, 4]);
    const out = ctx.sdpa(wrapped, made, made);
    ctx.tensor(new Float32Array(64), [64]).destroy();
    expect(ctx.stats.liveBuffers).toBe(2);
    expect(ctx.stats.pooledBytes).toBeGreaterThan(0);
    const pending = out.read().catch((e: unknown) => e);
    ctx.destroy();
    expect(ctx.stats.liveBuffers, 'every pooled buffer freed').toBe(0);
    expect(ctx.stats.pooledBytes).toBe(0);
    expect(ctx.alive).toBe(false);
    expect(await pending, 'a read pending at destroy()').toBeInstanceOf(DeviceLostError);
    expect(() => ctx.sdpa(wrapped, made, made)).toThrow(DeviceLostError);
    expect(() => ctx.tensor([1], [1])).toThrow(DeviceLostError);
    expect(() => ctx.wrap(appBuffer, [16])).toThrow(DeviceLostError);
    await expect(wrapped.read()).rejects.toBeInstanceOf(DeviceLostError);
    // The app's buffer is neither destroyed nor changed, and its device still takes work.
    const staging = device.createBuffer({ size: 64, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    device.pushErrorScope('validation');
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(appBuffer, 0, staging, 0, 64);
    device.queue.submit([encoder.finish()]);
    expect(await device.popErrorScope(), 'the app’s buffer is still usable').toBeNull();
    await staging.mapAsync(GPUMapMode.READ);
    expect(Array.from(new Float32Array(staging.getMappedRange()))).toEqual(Array.from(data));
    staging.destroy();
    appBuffer.destroy();
  });
});

describe('caches', () => {
  it('compiles a pipeline once per (shader, entry point, overrides) and reuses it for other sizes', async () => {
    const make = (L: number) => attn.tensor(random(L * 16, `c${L}`), [1, 1, L, 16]);
    const a = make(40);
    await attn.sdpa(a, a, a).read();
    const after = attn.stats.pipelines;
    const b = make(70);
    await attn.sdpa(b, b, b).read();
    expect(attn.stats.pipelines).toBe(after);
    await attn.sdpa(b, b, b, { causal: true }).read();
    expect(attn.stats.pipelines).toBe(after + 1);
  });

  it('reuses freed buffers from the pool', () => {
    const x = attn.tensor(new Float32Array(1000), [1000]);
    const buffer = x.buffer;
    x.destroy();
    const y = attn.tensor(new Float32Array(990), [990]);
    expect(y.buffer).toBe(buffer);
    y.destroy();
  });
});

describe('typed errors', () => {
  it('turns a validation error of the device into a GpuError carrying the label', async () => {
    // A buffer without COPY_SRC cannot be read back: the copy fails validation.
    const buffer = device.createBuffer({ label: 'no-copy-src', size: 64, usage: GPUBufferUsage.STORAGE });
    const t = attn.wrap(buffer, [16]);
    const error = await t.read().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GpuError);
    expect((error as GpuError).kind).toBe('validation');
    expect((error as GpuError).message).toContain('no-copy-src');
    buffer.destroy();
  });

  it('marks the context dead when its device is lost, and refuses new work', async () => {
    const ctx = await createAttention({ gpu: await nodeGpu() });
    const q = ctx.tensor(new Float32Array(4), [1, 1, 1, 4]);
    ctx.device.destroy();
    await ctx.device.lost;
    expect(ctx.alive).toBe(false);
    expect(() => ctx.sdpa(q, q, q)).toThrow(DeviceLostError);
    expect(() => ctx.sdpa(q, q, q)).toThrow(/device was lost/);
  });
});
