/**
 * reference.sdpaVarlen: FlashAttention's documented causal pattern read off the output, zero-length
 * sequences, the lse layout, the packed call against one dense sdpa with a block-diagonal mask built
 * here from the wording of docs/semantics.md §12, and every bad call of the shared table.
 */
import { describe, expect, it } from 'vitest';
import { reference } from '../../src/reference/index';
import type { HostTensor } from '../../src/contract/types';
import type { VarlenOptions } from '../../src/contract/varlen';
import { expectRejected } from '../helpers/rejections';
import { BAD_SHAPES, BAD_VARLEN, VARLEN_CASES, varlenData, varlenOptions, type VarlenCase } from '../varlen-cases';

const { sdpaVarlen } = reference;

const zeros = (shape: number[]): HostTensor => ({ data: new Float32Array(shape.reduce((a, b) => a * b, 1)), shape });

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!Number.isFinite(expected[i])) expect(actual[i], `element ${i}`).toBe(expected[i]);
    else
      expect(Math.abs(actual[i] - expected[i]), `element ${i}`).toBeLessThanOrEqual(tol * (1 + Math.abs(expected[i])));
  }
}

/**
 * The keys each query of each sequence sees: q = 0 makes every allowed key's weight equal, and
 * v = the identity over a sequence's keys makes output column j that weight.
 */
function seenKeys(cuQ: number[], cuK: number[], options: Partial<VarlenOptions>): number[][][] {
  const totalQ = cuQ[cuQ.length - 1];
  const totalK = cuK[cuK.length - 1];
  const width = Math.max(...cuK.slice(1).map((end, b) => end - cuK[b]));
  const v = zeros([totalK, 1, width]);
  for (let b = 0; b + 1 < cuK.length; b++) {
    for (let j = cuK[b]; j < cuK[b + 1]; j++) (v.data as Float32Array)[j * width + (j - cuK[b])] = 1;
  }
  const out = sdpaVarlen(zeros([totalQ, 1, 2]), zeros([totalK, 1, 2]), v, {
    ...options,
    cuSeqlensQ: cuQ,
    cuSeqlensK: cuK,
    returnLse: false,
  });
  return cuQ
    .slice(1)
    .map((end, b) =>
      Array.from({ length: end - cuQ[b] }, (_, i) =>
        [...out.data.subarray((cuQ[b] + i) * width, (cuQ[b] + i + 1) * width)].flatMap((w, j) => (w > 0 ? [j] : [])),
      ),
    );
}

describe('reference.sdpaVarlen: worked cases', () => {
  it("FlashAttention's causal examples (Lq 2, Lk 5 and Lq 5, Lk 2) are lower-right, per sequence", () => {
    // flash_attn_varlen_func's docstring: "1 1 1 1 0 / 1 1 1 1 1" and "0 0 / 0 0 / 0 0 / 1 0 / 1 1".
    const seen = seenKeys([0, 2, 7], [0, 5, 7], { causal: true, alignment: 'lower-right' });
    expect(seen).toEqual([
      [
        [0, 1, 2, 3],
        [0, 1, 2, 3, 4],
      ],
      [[], [], [], [0], [0, 1]],
    ]);
  });

  it('upper-left (the default) counts positions from each sequence’s own first query', () => {
    expect(seenKeys([0, 2, 7], [0, 5, 7], { causal: true })).toEqual([
      [[0], [0, 1]],
      [[0], [0, 1], [0, 1], [0, 1], [0, 1]],
    ]);
  });

  it('windows are per sequence too', () => {
    expect(seenKeys([0, 3, 6], [0, 3, 6], { window: { left: 1, right: 0 } })).toEqual([
      [[0], [0, 1], [1, 2]],
      [[0], [0, 1], [1, 2]],
    ]);
  });

  it('a length-1 sequence outputs its one value row; its lse is its one logit', () => {
    const q = { data: [1, 2, 0.5, 0.5, 0.5, 0.5], shape: [3, 1, 2] };
    const k = { data: [3, 4, 1, 1, 1, 1], shape: [3, 1, 2] };
    const v = { data: [7, 8, 9], shape: [3, 1, 1] };
    const r = sdpaVarlen(q, k, v, { cuSeqlensQ: [0, 1, 3], cuSeqlensK: [0, 1, 3], scale: 1, returnLse: true });
    expect(r.output.data[0]).toBe(7);
    expect(r.lse.data[0]).toBe(1 * 3 + 2 * 4);
  });

  it('a sequence without queries takes no part; one without keys outputs zeros and lse −∞', () => {
    const q = { data: [1, 1, 1], shape: [3, 1, 1] };
    const k = { data: [1, 2, 3, 4], shape: [4, 1, 1] };
    const v = { data: [10, 20, 30, 40], shape: [4, 1, 1] };
    const options = { cuSeqlensQ: [0, 0, 2, 3], cuSeqlensK: [0, 3, 3, 4], returnLse: true as const };
    const r = sdpaVarlen(q, k, v, options);
    expect([...r.output.data]).toEqual([0, 0, 40]);
    expect([...r.lse.data]).toEqual([-Infinity, -Infinity, 4]);
    expect(r.lse.shape).toEqual([1, 3]);
  });

  it('accepts Int32Array and Uint32Array offsets alike', () => {
    const c = VARLEN_CASES[0];
    const { q, k, v } = varlenData(c);
    const plain = sdpaVarlen(q, k, v, { ...varlenOptions(c), returnLse: false });
    const typed = sdpaVarlen(q, k, v, { cuSeqlensQ: Int32Array.from(c.cuQ), cuSeqlensK: Uint32Array.from(c.cuK) });
    expect(typed.data).toEqual(plain.data);
  });
});

/**
 * The same call as one dense reference.sdpa over the packed tensors (bshd, batch 1) with a boolean
 * mask [totalQ, totalK] that lets query i see key j only in its own sequence, where causal and the
 * window allow: p = (i − cuQ[b]) + offset, δ = (j − cuK[b]) − p, offset 0 or Lk_b − Lq_b.
 */
function dense(c: VarlenCase) {
  const { q, k, v } = varlenData(c);
  const o = c.options ?? {};
  const totalQ = q.shape[0];
  const totalK = k.shape[0];
  const mask = new Uint8Array(totalQ * totalK);
  const d = o.dilation ?? 1;
  const left = o.window?.left ?? -1;
  const right = o.window?.right ?? -1;
  for (let b = 0; b + 1 < c.cuQ.length; b++) {
    const offset = o.alignment === 'lower-right' ? c.cuK[b + 1] - c.cuK[b] - (c.cuQ[b + 1] - c.cuQ[b]) : 0;
    for (let i = c.cuQ[b]; i < c.cuQ[b + 1]; i++) {
      const p = i - c.cuQ[b] + offset;
      for (let j = c.cuK[b]; j < c.cuK[b + 1]; j++) {
        const delta = j - c.cuK[b] - p;
        const inWindow = (left < 0 || delta >= -left * d) && (right < 0 || delta <= right * d) && delta % d === 0;
        mask[i * totalK + j] = (!o.causal || delta <= 0) && inWindow ? 1 : 0;
      }
    }
  }
  const asBshd = (t: { data: Float32Array; shape: number[] }) => ({ data: t.data, shape: [1, ...t.shape] });
  // Causal, alignment and the window are all in the mask; only the scalars carry over.
  return reference.sdpa(asBshd(q), asBshd(k), asBshd(v), {
    scale: o.scale,
    softcap: o.softcap,
    layout: 'bshd',
    mask: { data: mask, shape: [totalQ, totalK] },
    returnLse: true,
  });
}

describe('reference.sdpaVarlen = one dense sdpa with a block-diagonal mask', () => {
  for (const c of VARLEN_CASES) {
    it(c.name, () => {
      const { q, k, v } = varlenData(c);
      const packed = sdpaVarlen(q, k, v, { ...varlenOptions(c), returnLse: true });
      const expected = dense(c);
      expect(packed.output.shape).toEqual([q.shape[0], c.Hq, c.Dv]);
      expectClose(packed.output.data, expected.output.data);
      expect(packed.lse.shape).toEqual([c.Hq, q.shape[0]]);
      expectClose(packed.lse.data, expected.lse.data); // [1, Hq, totalQ] is [Hq, totalQ]
    });
  }
});

describe('reference.sdpaVarlen: bad calls', () => {
  for (const bad of BAD_VARLEN) {
    it(bad.name, () => {
      const s = bad.shapes ?? BAD_SHAPES;
      const call = () => sdpaVarlen(zeros(s.q), zeros(s.k), zeros(s.v), bad.options as VarlenOptions);
      expectRejected(call, bad.argument, ...bad.fragments);
    });
  }

  it('checks the host data length after the shapes', () => {
    const q = { data: new Float32Array(39), shape: [5, 2, 4] };
    const call = () =>
      sdpaVarlen(q, zeros(BAD_SHAPES.k), zeros(BAD_SHAPES.v), { cuSeqlensQ: [0, 5], cuSeqlensK: [0, 7] });
    expectRejected(call, 'q.data', '39 elements');
  });
});
