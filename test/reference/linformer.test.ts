/**
 * reference.linformer against reference.sdpa on keys and values projected here (k' = E·k, v' = F·v,
 * written out as plain loops), a hand-worked case, and every AttentionError path.
 */
import { describe, expect, it } from 'vitest';
import { reference } from '../../src/reference/index';
import type { HostTensor } from '../../src/contract/types';
import { random } from '../mha-cases';
import { expectRejected } from '../helpers/rejections';

const { linformer, sdpa } = reference;
const t = (data: number[], shape: number[]): HostTensor => ({ data, shape });

/** P·x along L for x [B, H, L, dim] (bhsd), in float64. */
function project(x: HostTensor, p: HostTensor): HostTensor {
  const [B, H, L, dim] = x.shape;
  const r = p.shape[0];
  const out = new Float64Array(B * H * r * dim);
  for (let bh = 0; bh < B * H; bh++)
    for (let row = 0; row < r; row++)
      for (let d = 0; d < dim; d++) {
        let s = 0;
        for (let j = 0; j < L; j++) s += Number(p.data[row * L + j]) * Number(x.data[(bh * L + j) * dim + d]);
        out[(bh * r + row) * dim + d] = s;
      }
  return { data: out, shape: [B, H, r, dim] };
}

/** [B, H, L, D] ↔ [B, L, H, D]. */
function swap(x: HostTensor): HostTensor {
  const [B, A, C, D] = x.shape;
  const out = new Float64Array(x.data.length);
  for (let b = 0; b < B; b++)
    for (let a = 0; a < A; a++)
      for (let c = 0; c < C; c++)
        for (let d = 0; d < D; d++) out[((b * C + c) * A + a) * D + d] = Number(x.data[((b * A + a) * C + c) * D + d]);
  return { data: out, shape: [B, C, A, D] };
}

describe('reference.linformer = reference.sdpa on E·k and F·v', () => {
  const [B, H, L, D, Dv, r] = [2, 3, 21, 6, 4, 5];
  const q = random('lf q', [B, H, 9, D]);
  const k = random('lf k', [B, H, L, D]);
  const v = random('lf v', [B, H, L, Dv]);
  const E = random('lf E', [r, L], 0.3);
  const F = random('lf F', [r, L], 0.3);

  it('plain, with scale and softcap, and returnLse / returnWeights over r keys', () => {
    const options = { scale: 0.7, softcap: 5, returnLse: true, returnWeights: true } as const;
    const got = linformer(q, k, v, { projectK: E, projectV: F, ...options });
    const want = sdpa(q, project(k, E), project(v, F), options);
    expect(got.output.shape).toEqual([B, H, 9, Dv]);
    expect(got.weights!.shape).toEqual([B, H, 9, r]);
    for (const key of ['output', 'lse', 'weights'] as const)
      got[key]!.data.forEach((x, i) => expect(x).toBeCloseTo(want[key]!.data[i], 12));
  });

  it('a mask over [.., Lq, r] and grouped heads', () => {
    const k2 = random('lf k2', [B, 1, L, D]);
    const v2 = random('lf v2', [B, 1, L, Dv]);
    const mask = { data: Uint8Array.from({ length: 9 * r }, (_, i) => (i % 3 === 0 ? 0 : 1)), shape: [9, r] };
    const got = linformer(q, k2, v2, { projectK: E, projectV: F, mask });
    const want = sdpa(q, project(k2, E), project(v2, F), { mask });
    got.data.forEach((x, i) => expect(x).toBeCloseTo(want.data[i], 12));
  });

  it('layout bshd projects along L with heads inside', () => {
    const got = linformer(swap(q), swap(k), swap(v), { projectK: E, projectV: F, layout: 'bshd' });
    const want = swap(sdpa(q, project(k, E), project(v, F)));
    expect(got.shape).toEqual(want.shape);
    got.data.forEach((x, i) => expect(x).toBeCloseTo(want.data[i], 12));
  });

  it("worked: r = 1, E = F = the mean of two keys → k' = 2, v' = 15, one key", () => {
    const E1 = t([0.5, 0.5], [1, 2]);
    const out = linformer(t([1], [1, 1, 1, 1]), t([1, 3], [1, 1, 2, 1]), t([10, 20], [1, 1, 2, 1]), {
      projectK: E1,
      projectV: E1,
    });
    expect([...out.data]).toEqual([15]);
  });
});

describe('reference.linformer rejects bad input', () => {
  const q = random('lf bad q', [1, 2, 4, 3]);
  const k = random('lf bad k', [1, 2, 7, 3]);
  const v = random('lf bad v', [1, 2, 7, 2]);
  const E = random('lf bad E', [3, 7]);

  it('projections whose length is not Lk, or whose r differ', () => {
    expectRejected(
      () => linformer(q, k, v, { projectK: random('x', [3, 6]), projectV: E }),
      'options.projectK',
      '[r, 7]',
    );
    expectRejected(
      () => linformer(q, k, v, { projectK: random('x', [21]), projectV: E }),
      'options.projectK',
      '[r, 7]',
    );
    expectRejected(
      () => linformer(q, k, v, { projectK: E, projectV: random('x', [4, 7]) }),
      'options.projectV',
      '[3, 7]',
    );
    expectRejected(() => linformer(q, k, v, { projectK: E } as never), 'options.projectV', 'a host tensor');
    expectRejected(() => linformer(q, k, v, undefined as never), 'options', 'projectK and projectV');
  });

  it('causal and the other positional options are refused; causal: false is allowed', () => {
    expect(linformer(q, k, v, { projectK: E, projectV: E, causal: false }).shape).toEqual([1, 2, 4, 2]);
    expectRejected(
      () => linformer(q, k, v, { projectK: E, projectV: E, causal: true } as never),
      'options.causal',
      'no positions',
    );
    const positional = { window: { left: 1, right: 1 }, alignment: 'lower-right', alibiSlopes: [1, 1], sinkTokens: 2 };
    for (const [key, value] of Object.entries(positional))
      expectRejected(
        () => linformer(q, k, v, { projectK: E, projectV: E, [key]: value }),
        `options.${key}`,
        'no positions',
      );
  });

  it('shapes that disagree, masks over Lk instead of r, bad sdpa options', () => {
    expectRejected(() => linformer(q, random('x', [1, 2, 7, 5]), v, { projectK: E, projectV: E }), 'k', 'head dim 5');
    const mask = { data: new Float32Array(4 * 7), shape: [4, 7] };
    expectRejected(() => linformer(q, k, v, { projectK: E, projectV: E, mask }), 'options.mask', '[1, 2, 4, 3]');
    expectRejected(() => linformer(q, k, v, { projectK: E, projectV: E, scale: -1 }), 'options.scale', '> 0');
  });
});
