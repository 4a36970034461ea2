/**
 * Node GPU ring: attn.sdpaVarlen through Dawn against the float64 reference and against attn.sdpa
 * run on each sequence alone; the bad calls of the shared table, each refused before any buffer
 * is taken.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttention, reference, type AttentionContext, type GpuTensor } from '../../src/index';
import { compareArrays } from '../helpers/compare';
import { nodeGpu } from '../helpers/node-gpu';
import { expectRejectedOn } from '../helpers/rejections';
import { BAD_SHAPES, BAD_VARLEN, VARLEN_CASES, varlenData, varlenOptions, type VarlenCase } from '../varlen-cases';

let attn: AttentionContext;
beforeAll(async () => {
  attn = await createAttention({ gpu: await nodeGpu() });
});
afterAll(() => attn?.destroy());

type Packed = ReturnType<typeof varlenData>;

/** The case on the GPU: output [totalQ, Hq, Dv] and lse [Hq, totalQ]. */
async function runVarlen(c: VarlenCase, d: Packed): Promise<{ output: Float32Array; lse: Float32Array }> {
  const [q, k, v] = [d.q, d.k, d.v].map((t) => attn.tensor(t.data, t.shape));
  try {
    const { output, lse } = attn.sdpaVarlen(q, k, v, { ...varlenOptions(c), returnLse: true });
    const result = { output: await output.read(), lse: await lse.read() };
    expect(output.shape).toEqual([d.q.shape[0], c.Hq, c.Dv]);
    expect(lse.shape).toEqual([c.Hq, d.q.shape[0]]);
    output.destroy();
    lse.destroy();
    return result;
  } finally {
    [q, k, v].forEach((t) => t.destroy());
  }
}

/** attn.sdpa on each sequence alone (bshd, batch 1), packed back: zeros and −∞ where it has no key. */
async function runAlone(c: VarlenCase, d: Packed): Promise<{ output: Float32Array; lse: Float32Array }> {
  const totalQ = d.q.shape[0];
  const output = new Float32Array(totalQ * c.Hq * c.Dv);
  const lse = new Float32Array(c.Hq * totalQ).fill(-Infinity);
  for (let b = 0; b + 1 < c.cuQ.length; b++) {
    const [q0, Lq, k0, Lk] = [c.cuQ[b], c.cuQ[b + 1] - c.cuQ[b], c.cuK[b], c.cuK[b + 1] - c.cuK[b]];
    if (Lq === 0 || Lk === 0) continue;
    const rows = (t: Packed['q'], start: number, n: number): GpuTensor => {
      const row = t.shape[1] * t.shape[2];
      return attn.tensor(t.data.subarray(start * row, (start + n) * row), [1, n, t.shape[1], t.shape[2]]);
    };
    const [q, k, v] = [rows(d.q, q0, Lq), rows(d.k, k0, Lk), rows(d.v, k0, Lk)];
    const r = attn.sdpa(q, k, v, { ...c.options, layout: 'bshd', returnLse: true });
    output.set(await r.output.read(), q0 * c.Hq * c.Dv);
    const seqLse = await r.lse.read();
    for (let h = 0; h < c.Hq; h++) lse.set(seqLse.subarray(h * Lq, (h + 1) * Lq), h * totalQ + q0);
    [q, k, v, r.output, r.lse].forEach((t) => t.destroy());
  }
  return { output, lse };
}

describe('attn.sdpaVarlen vs the reference and vs each sequence alone', () => {
  for (const c of VARLEN_CASES) {
    it(c.name, async () => {
      const d = varlenData(c);
      const expected = reference.sdpaVarlen(d.q, d.k, d.v, { ...varlenOptions(c), returnLse: true });
      const actual = await runVarlen(c, d);
      for (const part of ['output', 'lse'] as const) {
        const r = compareArrays(actual[part], expected[part].data);
        expect(r.ok, `${part} vs reference: ${r.message}`).toBe(true);
      }
      const alone = await runAlone(c, d);
      for (const part of ['output', 'lse'] as const) {
        const r = compareArrays(actual[part], alone[part]);
        expect(r.ok, `${part} vs sdpa alone: ${r.message}`).toBe(true);
      }
      expect(attn.stats.liveBuffers).toBe(0);
    });
  }

  it('returns the output alone without returnLse, and takes Int32Array / Uint32Array offsets', async () => {
    const c = VARLEN_CASES[5];
    const d = varlenData(c);
    const [q, k, v] = [d.q, d.k, d.v].map((t) => attn.tensor(t.data, t.shape));
    const options = {
      ...c.options,
      cuSeqlensQ: Int32Array.from(c.cuQ),
      cuSeqlensK: Uint32Array.from(c.cuK),
      returnLse: false as const,
    };
    const o = attn.sdpaVarlen(q, k, v, options);
    const r = compareArrays(await o.read(), reference.sdpaVarlen(d.q, d.k, d.v, options).data);
    expect(r.ok, r.message).toBe(true);
    [q, k, v, o].forEach((t) => t.destroy());
    expect(attn.stats.liveBuffers).toBe(0);
  });
  it('reads wrapped buffers at an element offset the binding cannot align (q, k, v in one buffer)', async () => {
    const c = VARLEN_CASES[2];
    const d = varlenData(c);
    const parts = [d.q, d.k, d.v];
    const at = [3, 3 + d.q.data.length, 3 + d.q.data.length + d.k.data.length]; // elements, past 3 of padding
    const all = new Float32Array(at[2] + d.v.data.length);
    parts.forEach((t, i) => all.set(t.data, at[i]));
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    const buffer = attn.device.createBuffer({ size: all.byteLength, usage });
    attn.device.queue.writeBuffer(buffer, 0, all);
    const [q, k, v] = parts.map((t, i) => attn.wrap(buffer, t.shape, { offset: at[i] * 4 }));
    const { output, lse } = attn.sdpaVarlen(q, k, v, { ...varlenOptions(c), returnLse: true });
    const expected = reference.sdpaVarlen(d.q, d.k, d.v, { ...varlenOptions(c), returnLse: true });
    for (const [actual, wanted] of [
      [await output.read(), expected.output.data],
      [await lse.read(), expected.lse.data],
    ] as const) {
      const r = compareArrays(actual, wanted);
      expect(r.ok, r.message).toBe(true);
    }
    [q, k, v, output, lse].forEach((t) => t.destroy());
    buffer.destroy();
  });
});

describe('attn.sdpaVarlen: bad calls take nothing from the pool', () => {
  for (const bad of BAD_VARLEN) {
    it(bad.name, () => {
      const s = bad.shapes ?? BAD_SHAPES;
      const [q, k, v] = [s.q, s.k, s.v].map((shape) =>
        attn.tensor(new Float32Array(shape.reduce((a, b) => a * b)), shape),
      );
      try {
        const call = () => attn.sdpaVarlen(q, k, v, bad.options as Parameters<AttentionContext['sdpaVarlen']>[3]);
        expectRejectedOn(attn, call, bad.argument, ...bad.fragments);
      } finally {
        [q, k, v].forEach((t) => t.destroy());
      }
    });
  }

  it('refuses a GpuTensor mask like any other', () => {
    const s = BAD_SHAPES;
    const [q, k, v] = [s.q, s.k, s.v].map((shape) =>
      attn.tensor(new Float32Array(shape.reduce((a, b) => a * b)), shape),
    );
    const mask = attn.tensor(new Float32Array(35), [5, 7]);
    const options = { cuSeqlensQ: [0, 2, 5], cuSeqlensK: [0, 3, 7], mask } as unknown as Parameters<
      AttentionContext['sdpaVarlen']
    >[3];
    expectRejectedOn(attn, () => attn.sdpaVarlen(q, k, v, options), 'options.mask', 'no mask');
    [q, k, v, mask].forEach((t) => t.destroy());
  });
});
