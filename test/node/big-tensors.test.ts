/**
 * Tensors past one buffer binding, for real: a device that keeps WebGPU's default binding limit
 * (128 MiB; no limit is ever lowered below its default) but raises maxBufferSize to the adapter's
 * (SwiftShader allows 1 GiB buffers), and K/V of [1, 8, 36000, 128] f32 (147 MB each) through
 * attn.sdpa, which splits the call over kv heads with aligned binding offsets. Checked against the
 * float64 reference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttention, reference, type AttentionContext, type HostTensor } from '../../src/index';
import { rng } from '../cases';
import { compareArrays } from '../helpers/compare';
import { nodeGpu } from '../helpers/node-gpu';
import { expectRejectedOn } from '../helpers/rejections';

const [Hq, Hkv, Lq, Lk, D] = [8, 8, 3, 36000, 128];
let device: GPUDevice;
let attn: AttentionContext;
let enough = true;

beforeAll(async () => {
  const adapter = (await (await nodeGpu()).requestAdapter())!;
  enough = adapter.limits.maxBufferSize >= Hkv * Lk * D * 4 + 4096;
  device = await adapter.requestDevice({ requiredLimits: { maxBufferSize: adapter.limits.maxBufferSize } });
  attn = await createAttention({ device });
}, 120_000);
afterAll(() => {
  attn?.destroy();
  device?.destroy();
});

function host(name: string, shape: number[]): HostTensor {
  const random = rng(name);
  return { data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random() * 2 - 1), shape };
}

describe('K and V past the 128 MiB binding limit', () => {
  it('the device keeps the default binding limit and allocates larger buffers', () => {
    expect(device.limits.maxStorageBufferBindingSize).toBe(128 * 2 ** 20);
    expect(Hkv * Lk * D * 4).toBeGreaterThan(device.limits.maxStorageBufferBindingSize);
  });

  it('[1, 8, 36000, 128] f32 K/V: sdpa splits over kv heads and matches the reference (causal lower-right, lse)', async (ctx) => {
    if (!enough) ctx.skip();
    const q = host('big q', [1, Hq, Lq, D]);
    const k = host('big k', [1, Hkv, Lk, D]);
    const v = host('big v', [1, Hkv, Lk, D]);
    const options = { causal: true, alignment: 'lower-right', returnLse: true } as const;
    const want = reference.sdpa(q, k, v, options);
    const [qg, kg, vg] = [q, k, v].map((t) => attn.tensor(t.data as Float32Array, t.shape));
    try {
      const got = attn.sdpa(qg, kg, vg, options);
      const output = compareArrays(await got.output.read(), want.output.data);
      expect(output.ok, `output: ${output.message}`).toBe(true);
      const lse = compareArrays(await got.lse.read(), want.lse.data);
      expect(lse.ok, `lse: ${lse.message}`).toBe(true);
      got.output.destroy();
      got.lse.destroy();
      // A 'bshd' view of the same K/V with one batch spreads every head over the whole tensor: refused.
      const [kb, vb] = [kg, vg].map((t) => attn.wrap(t.buffer, [1, Lk, Hkv, D]));
      const qb = attn.wrap(qg.buffer, [1, Lq, Hq, D]);
      expectRejectedOn(attn, () => attn.sdpa(qb, kb, vb, { layout: 'bshd' }), 'k', 'binding limit', "'bhsd'");
    } finally {
      [qg, kg, vg].forEach((t) => t.destroy());
    }
  }, 300_000);
});
