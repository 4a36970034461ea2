/**
 * Node GPU ring for attn.linformer (shaders/linformer.wgsl's projections, then the flash kernel):
 * every case of test/long-cases.ts against reference.linformer (r = 13 and r > Lk, grouped heads,
 * bshd, a boolean mask over [Lq, r], returnLse, scale and softcap, f16 storage), the same call
 * against attn.sdpa on k and v projected on the host, and every bad call refused with nothing
 * taken from the pool and nothing compiled. Every test ends with no live buffer.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAttention, type AttentionContext, type GpuMask, type GpuTensor } from '../../src/index';
import { projectRows } from '../../src/reference/linformer';
import { compareArrays } from '../helpers/compare';
import { nodeGpu } from '../helpers/node-gpu';
import { expectRejectedOn } from '../helpers/rejections';
import { LINFORMER_CASES, linformerExpected, linformerInputs, linformerOptions } from '../long-cases';
import { random } from '../mha-cases';

let attn: AttentionContext;
beforeAll(async () => {
  attn = await createAttention({ gpu: await nodeGpu() });
});
afterAll(() => attn?.destroy());

const made: (GpuTensor | GpuMask)[] = [];
afterEach(() => {
  made.splice(0).forEach((t) => t.destroy());
  expect(attn.stats.liveBuffers, 'every buffer back in the pool').toBe(0);
});
function keep<T extends GpuTensor | GpuMask>(t: T): T {
  made.push(t);
  return t;
}
const upload = (t: { data: ArrayLike<number>; shape: readonly number[] }, dtype: 'f32' | 'f16' = 'f32') =>
  keep(attn.tensor(Float32Array.from(t.data), [...t.shape], { dtype }));

describe('attn.linformer vs reference.linformer', () => {
  for (const c of LINFORMER_CASES) {
    it(c.name, async () => {
      const inputs = linformerInputs(c);
      const [q, k, v, projectK, projectV] = [inputs.q, inputs.k, inputs.v, inputs.projectK, inputs.projectV].map((t) =>
        upload(t, c.dtype),
      );
      const mask = inputs.mask && keep(attn.mask(inputs.mask.data, inputs.mask.shape));
      const result = attn.linformer(q, k, v, { projectK, projectV, mask, ...linformerOptions(c) });
      const { output, lse } = 'output' in result ? result : { output: result, lse: undefined };
      [output, lse].forEach((t) => t && keep(t));
      const want = linformerExpected(c, inputs);
      expect(output.shape).toEqual(want.output.shape);
      const r = compareArrays(await output.read(), want.output.data);
      expect(r.ok, r.message).toBe(true);
      expect(lse === undefined).toBe(want.lse === undefined);
      if (lse && want.lse) {
        const l = compareArrays(await lse.read(), want.lse.data);
        expect(l.ok, l.message).toBe(true);
      }
    });
  }

  it('equals attn.sdpa on k and v projected on the host (the flash kernel over r keys)', async () => {
    const c = LINFORMER_CASES[0];
    const inputs = linformerInputs(c);
    const [q, k, v, projectK, projectV] = [inputs.q, inputs.k, inputs.v, inputs.projectK, inputs.projectV].map((t) =>
      upload(t),
    );
    const low = keep(attn.linformer(q, k, v, { projectK, projectV }));
    const kp = upload(projectRows(inputs.k, inputs.projectK, 'bhsd'));
    const vp = upload(projectRows(inputs.v, inputs.projectV, 'bhsd'));
    const direct = keep(attn.sdpa(q, kp, vp));
    const r = compareArrays(await low.read(), await direct.read());
    expect(r.ok, r.message).toBe(true);
  });
});

describe('attn.linformer rejects bad input before taking anything', () => {
  const tensors = () => ({
    q: upload(random('lf q', [1, 2, 5, 4])),
    k: upload(random('lf k', [1, 2, 9, 4])),
    v: upload(random('lf v', [1, 2, 9, 3])),
    E: upload(random('lf E', [3, 9])),
  });

  it('projections whose length is not Lk, or that disagree on r, or are missing', () => {
    const { q, k, v, E } = tensors();
    const E8 = upload(random('E8', [3, 8]));
    expectRejectedOn(
      attn,
      () => attn.linformer(q, k, v, { projectK: E8, projectV: E }),
      'options.projectK',
      '[3, 8]',
      '[r, 9]',
    );
    const F4 = upload(random('F4', [4, 9]));
    expectRejectedOn(attn, () => attn.linformer(q, k, v, { projectK: E, projectV: F4 }), 'options.projectV', '[3, 9]');
    expectRejectedOn(attn, () => attn.linformer(q, k, v, { projectK: E } as never), 'options.projectV', 'undefined');
    expectRejectedOn(attn, () => attn.linformer(q, k, v, undefined as never), 'options', 'projectK and projectV');
  });

  it('causal and the other positional options are refused', () => {
    const { q, k, v, E } = tensors();
    const base = { projectK: E, projectV: E };
    expectRejectedOn(
      attn,
      () => attn.linformer(q, k, v, { ...base, causal: true } as never),
      'options.causal',
      'no positions',
    );
    expectRejectedOn(
      attn,
      () => attn.linformer(q, k, v, { ...base, window: { left: 1, right: 0 } } as never),
      'options.window',
      'no positions',
    );
    expectRejectedOn(
      attn,
      () => attn.linformer(q, k, v, { ...base, alibiSlopes: [1, 2] } as never),
      'options.alibiSlopes',
      'no positions',
    );
  });

  it('shapes that disagree, a mask over Lk rather than r, bad sdpa options', () => {
    const { q, k, v, E } = tensors();
    const base = { projectK: E, projectV: E };
    const k5 = upload(random('k5', [1, 2, 9, 5]));
    expectRejectedOn(attn, () => attn.linformer(q, k5, v, base), 'k', 'head dim 5');
    const mask = keep(attn.mask(new Uint8Array(5 * 9), [5, 9]));
    expectRejectedOn(attn, () => attn.linformer(q, k, v, { ...base, mask }), 'options.mask', '[1, 2, 5, 3]');
    expectRejectedOn(attn, () => attn.linformer(q, k, v, { ...base, softcap: -1 }), 'options.softcap', '≥ 0');
    expectRejectedOn(
      attn,
      () => attn.linformer(q, k, v, { ...base, layout: 'sbhd' as never }),
      'options.layout',
      "'bshd'",
    );
  });
});
