/**
 * Bad input: each rejected call throws an AttentionError naming the argument, with what was
 * given and what was expected; nothing is enqueued (no buffer is taken from the pool) and the
 * context stays usable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttention, DeviceLostError, type AttentionContext } from '../../src/index';
import { BAD_INPUT, makeRejectionEnv, type RejectionEnv } from '../bad-input';
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

// The matrix itself is shared with the wgpu ring (test/bad-input.ts).
for (const group of ['sdpa', 'tensor creation'] as const) {
  describe(`${group} rejects bad input`, () => {
    let env: RejectionEnv;
    beforeAll(() => {
      env = makeRejectionEnv(attn, other);
    });
    afterAll(() => env?.dispose());
    for (const c of BAD_INPUT.filter((x) => x.group === group)) {
      it(c.name, () => {
        for (const r of c.rejections(env)) expectRejectedOn(attn, r.call, r.argument, ...r.fragments);
      });
    }
  });
}

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
