/**
 * reference.linearAttention against the explicit O(L²) form of its definition (every pair (i, j)
 * weighted by φ(q_i)·φ(k_j)), a hand-worked case, properties, and every AttentionError path.
 */
import { describe, expect, it } from 'vitest';
import { reference } from '../../src/reference/index';
import type { HostTensor } from '../../src/contract/types';
import { featureOf } from '../../src/reference/linear-attention';
import { random } from '../mha-cases';
import { expectRejected } from '../helpers/rejections';

const { linearAttention } = reference;
const t = (data: number[], shape: number[]): HostTensor => ({ data, shape });

/** out_i = Σ_j (φq_i·φk_j) v_j / (Σ_j φq_i·φk_j + eps), j over every key or j ≤ i: the quadratic form. */
function quadratic(q: HostTensor, k: HostTensor, v: HostTensor, map: 'elu+1' | 'relu', causal: boolean, eps = 1e-6) {
  const [B, Hq, Lq, D] = q.shape;
  const [, Hkv, Lk, Dv] = v.shape;
  const phi = featureOf(map);
  const out = new Float64Array(B * Hq * Lq * Dv);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Hq; h++) {
      const g = Math.floor(h / (Hq / Hkv));
      for (let i = 0; i < Lq; i++) {
        const num = new Float64Array(Dv);
        let den = eps;
        for (let j = 0; j < (causal ? i + 1 : Lk); j++) {
          let w = 0;
          for (let d = 0; d < D; d++) {
            const qd = Number(q.data[((b * Hq + h) * Lq + i) * D + d]);
            w += phi(qd) * phi(Number(k.data[((b * Hkv + g) * Lk + j) * D + d]));
          }
          den += w;
          for (let c = 0; c < Dv; c++) num[c] += w * Number(v.data[((b * Hkv + g) * Lk + j) * Dv + c]);
        }
        num.forEach((x, c) => (out[((b * Hq + h) * Lq + i) * Dv + c] = x / den));
      }
    }
  return out;
}

function expectClose(got: Float64Array, want: Float64Array) {
  expect(got.length).toBe(want.length);
  let worst = 0;
  got.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - want[i]) / (1 + Math.abs(want[i])))));
  expect(worst).toBeLessThan(1e-12);
}

describe('reference.linearAttention: the linear form equals the quadratic form', () => {
  for (const map of ['elu+1', 'relu'] as const) {
    for (const causal of [false, true]) {
      it(`${map}, causal ${causal}: B=2, Hq=3, L=17, D=5, Dv=3`, () => {
        const L = 17;
        const q = random(`la q ${map}`, [2, 3, L, 5]);
        const k = random(`la k ${map}`, [2, 3, L, 5]);
        const v = random(`la v ${map}`, [2, 3, L, 3]);
        const got = linearAttention(q, k, v, { featureMap: map, causal });
        expect(got.shape).toEqual([2, 3, L, 3]);
        expectClose(got.data, quadratic(q, k, v, map, causal));
      });
    }
  }

  it('grouped heads (Hq=4, Hkv=2) read kv head ⌊h/2⌋; Lq ≠ Lk without causal; eps as given', () => {
    const q = random('la gqa q', [1, 4, 6, 4]);
    const k = random('la gqa k', [1, 2, 9, 4]);
    const v = random('la gqa v', [1, 2, 9, 7]);
    const got = linearAttention(q, k, v, { eps: 0.5 });
    expectClose(got.data, quadratic(q, k, v, 'elu+1', false, 0.5));
  });
});

describe('reference.linearAttention: worked cases and properties', () => {
  it('relu, D = 1: φ(q) = 1, φ(k) = [0, 1] → 20 / (1 + 1e-6)', () => {
    const out = linearAttention(t([1], [1, 1, 1, 1]), t([-2, 1], [1, 1, 2, 1]), t([10, 20], [1, 1, 2, 1]), {
      featureMap: 'relu',
    });
    expect(out.data[0]).toBeCloseTo(20 / (1 + 1e-6), 12);
  });

  it('elu+1 by default: φ(0) = 1 and φ(1) = 2, so two keys 0 and 1 weigh 1 and 2', () => {
    const out = linearAttention(t([0], [1, 1, 1, 1]), t([0, 1], [1, 1, 2, 1]), t([10, 40], [1, 1, 2, 1]));
    // φ(q) = 1: weights 1 and 2, (10 + 80) / (3 + 1e-6)
    expect(out.data[0]).toBeCloseTo(90 / (3 + 1e-6), 12);
  });

  it('a relu row that sees no positive product outputs 0 (0 / eps), never NaN', () => {
    const out = linearAttention(t([-1, 1], [1, 1, 2, 1]), t([1, 1], [1, 1, 2, 1]), t([5, 7], [1, 1, 2, 1]), {
      featureMap: 'relu',
    });
    expect([...out.data]).toEqual([0, (5 + 7) / (2 + 1e-6)]);
  });

  it('causal row 0 sees only key 0: its output is v_0 up to eps', () => {
    const q = random('la first q', [1, 1, 5, 3]);
    const k = random('la first k', [1, 1, 5, 3]);
    const v = random('la first v', [1, 1, 5, 2]);
    const out = linearAttention(q, k, v, { causal: true });
    expect(out.data[0]).toBeCloseTo(v.data[0], 5);
    expect(out.data[1]).toBeCloseTo(v.data[1], 5);
  });
});

describe('reference.linearAttention rejects bad input', () => {
  const q = random('la bad q', [1, 2, 4, 3]);
  const k = random('la bad k', [1, 2, 4, 3]);
  const v = random('la bad v', [1, 2, 4, 2]);

  it('shapes that disagree name the tensor', () => {
    expectRejected(() => linearAttention(q, random('x', [1, 2, 4, 5]), v), 'k', 'head dim 5', 'head dim 3');
    expectRejected(() => linearAttention(q, k, random('x', [1, 2, 5, 2])), 'v', '5 keys', '4 keys');
    expectRejected(() => linearAttention(random('x', [1, 2, 4]), k, v), 'q', '4 positive integers');
    const k3 = random('x', [1, 3, 4, 3]);
    expectRejected(() => linearAttention(q, k3, random('x', [1, 3, 4, 2])), 'k', '3 kv heads', 'a divisor of 2');
  });

  it('causal needs Lq = Lk', () => {
    const k6 = random('x', [1, 2, 6, 3]);
    const v6 = random('x', [1, 2, 6, 2]);
    expect(linearAttention(q, k6, v6).shape).toEqual([1, 2, 4, 2]);
    expectRejected(() => linearAttention(q, k6, v6, { causal: true }), 'k', '6 keys', '4 keys', 'j ≤ i');
  });

  it('unknown feature maps, bad eps and unknown options', () => {
    expectRejected(() => linearAttention(q, k, v, { featureMap: 'softmax' as never }), 'options.featureMap', "'elu+1'");
    for (const eps of [0, -1e-6, Infinity, NaN, 1e-40, '1e-6'])
      expectRejected(() => linearAttention(q, k, v, { eps: eps as number }), 'options.eps', 'normal number');
    expectRejected(() => linearAttention(q, k, v, { causal: 1 as never }), 'options.causal', 'true or false');
    expectRejected(() => linearAttention(q, k, v, { scale: 2 } as never), 'options.scale', 'an unknown key');
    expectRejected(() => linearAttention(q, k, v, 3 as never), 'options', 'an object');
  });

  it('host tensors: data length and boolean data', () => {
    expectRejected(() => linearAttention({ data: [1, 2], shape: [1, 1, 1, 3] }, k, v), 'q.data', '3 elements');
    const bytes = { data: new Uint8Array(24), shape: [1, 2, 4, 3] };
    expectRejected(() => linearAttention(q, bytes, v), 'k.data', 'Uint8Array');
  });
});
