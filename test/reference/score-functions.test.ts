/**
 * The float64 twins of the other score functions, `reference.additive` (Bahdanau) and
 * `reference.multiplicative` (Luong "general"): hand-worked cases, a naive formula written here
 * (the whole score matrix, then a softmax), properties (multiplicative = sdpa on projected keys,
 * W = I = Luong's dot, key permutations, rows summing to 1, removed keys never read), PyTorch's
 * vectors (test/data/score-functions/), and the bad-input errors.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { reference, type HostTensor } from '../../src/index';
import { expectRejected } from '../helpers/rejections';
import { random } from '../mha-cases';

const t = (data: number[], shape: number[]): HostTensor => ({ data, shape });
const close = (got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-12) => {
  expect(got.length).toBe(want.length);
  for (let e = 0; e < want.length; e++) expect(Math.abs(got[e] - want[e]), `element ${e}`).toBeLessThanOrEqual(tol);
};

interface Sizes {
  B: number;
  Lq: number;
  Lk: number;
  Dq: number;
  Dk: number;
  Dv: number;
  A: number;
}
const SIZES: Sizes = { B: 2, Lq: 7, Lk: 9, Dq: 5, Dk: 3, Dv: 4, A: 6 };

function inputs(seed: string, s: Sizes = SIZES) {
  const r = (what: string, shape: number[], scale = 1) => random(`${seed} ${what}`, shape, scale);
  return {
    q: r('q', [s.B, s.Lq, s.Dq]),
    k: r('k', [s.B, s.Lk, s.Dk]),
    v: r('v', [s.B, s.Lk, s.Dv]),
    wq: r('wq', [s.A, s.Dq]),
    wk: r('wk', [s.A, s.Dk]),
    va: r('va', [s.A]),
    bias: r('bias', [s.A], 0.5),
    weight: r('weight', [s.Dq, s.Dk]),
  };
}

/** additive's weights of `inputs`. */
const w = (x: ReturnType<typeof inputs>) => ({ wq: x.wq, wk: x.wk, va: x.va, bias: x.bias });

/** Additive attention the long way: the [B, Lq, Lk] scores, masked, a max-shifted softmax, then ·v. */
function naiveAdditive(x: ReturnType<typeof inputs>, s: Sizes, keep: (b: number, i: number, j: number) => boolean) {
  const at = (u: HostTensor, e: number) => Number(u.data[e]);
  const out = new Float64Array(s.B * s.Lq * s.Dv);
  for (let b = 0; b < s.B; b++)
    for (let i = 0; i < s.Lq; i++) {
      const scores: number[] = [];
      for (let j = 0; j < s.Lk; j++) {
        let score = 0;
        for (let a = 0; a < s.A; a++) {
          let pre = at(x.bias, a);
          for (let d = 0; d < s.Dq; d++) pre += at(x.wq, a * s.Dq + d) * at(x.q, (b * s.Lq + i) * s.Dq + d);
          for (let d = 0; d < s.Dk; d++) pre += at(x.wk, a * s.Dk + d) * at(x.k, (b * s.Lk + j) * s.Dk + d);
          score += at(x.va, a) * Math.tanh(pre);
        }
        scores.push(keep(b, i, j) ? score : -Infinity);
      }
      const max = Math.max(...scores);
      if (max === -Infinity) continue;
      const e = scores.map((z) => Math.exp(z - max));
      const sum = e.reduce((p, c) => p + c, 0);
      for (let j = 0; j < s.Lk; j++)
        for (let c = 0; c < s.Dv; c++)
          out[(b * s.Lq + i) * s.Dv + c] += (e[j] / sum) * at(x.v, (b * s.Lk + j) * s.Dv + c);
    }
  return out;
}

describe('reference.additive', () => {
  it('a hand-worked case: scores tanh(1), tanh(2) give 15.50436', () => {
    const options = { wq: t([1], [1, 1]), wk: t([1], [1, 1]), va: t([1], [1]), returnWeights: true as const };
    const r = reference.additive(t([1], [1, 1, 1]), t([0, 1], [1, 2, 1]), t([10, 20], [1, 2, 1]), options);
    const p1 = 1 / (1 + Math.exp(Math.tanh(1) - Math.tanh(2)));
    close(r.weights.data, [1 - p1, p1]);
    close(r.output.data, [10 + 10 * p1]);
    expect(r.output.data[0]).toBeCloseTo(15.50436, 5);
    expect(r.output.shape).toEqual([1, 1, 1]);
    expect(r.weights.shape).toEqual([1, 1, 2]);
  });

  it('a bias and va: score = va·tanh(wq·q + wk·k + b), worked by hand with A = 2', () => {
    // wq = [[1], [0]], wk = [[0], [1]], b = [0, 0.5], va = [2, −1]: score(j) = 2·tanh(q) − tanh(k_j + 0.5).
    const options = { wq: t([1, 0], [2, 1]), wk: t([0, 1], [2, 1]), va: t([2, -1], [2]), bias: t([0, 0.5], [2]) };
    const k = [0.3, -1.2, 2];
    const out = reference.additive(t([0.7], [1, 1, 1]), t(k, [1, 3, 1]), t([1, 2, 3], [1, 3, 1]), options);
    const scores = k.map((kj) => 2 * Math.tanh(0.7) - Math.tanh(kj + 0.5));
    const e = scores.map((s) => Math.exp(s));
    const sum = e.reduce((a, b) => a + b);
    close(out.data, [(e[0] * 1 + e[1] * 2 + e[2] * 3) / sum]);
  });

  it('matches the naive formula with a bias, a boolean mask (one empty row) and causal', () => {
    const x = inputs('naive');
    const keep = new Uint8Array(SIZES.B * SIZES.Lq * SIZES.Lk).map((_, e) =>
      e % 5 === 2 || (e >= 9 && e < 18) ? 0 : 1,
    );
    const mask = { data: keep, shape: [SIZES.B, SIZES.Lq, SIZES.Lk] };
    const out = reference.additive(x.q, x.k, x.v, { ...w(x), causal: true, mask });
    const want = naiveAdditive(x, SIZES, (b, i, j) => j <= i && keep[(b * SIZES.Lq + i) * SIZES.Lk + j] === 1);
    close(out.data, want);
    for (let c = 0; c < SIZES.Dv; c++) expect(out.data[SIZES.Dv + c]).toBe(0); // row (0, 1): every key removed
  });

  it('rows of weights sum to 1, an empty row to 0, and a removed key is never read', () => {
    const x = inputs('rows');
    const { B, Lq, Lk, Dk, Dv } = SIZES;
    // Query 0 sees no key; query i ≥ 1 loses key (2·i) % Lk.
    const removed = (i: number, j: number) => i === 0 || j === (2 * i) % Lk;
    const mask = {
      data: new Float64Array(Lq * Lk).map((_, e) => (removed(Math.floor(e / Lk), e % Lk) ? -Infinity : 0)),
      shape: [Lq, Lk],
    };
    const r = reference.additive(x.q, x.k, x.v, { ...w(x), mask, returnWeights: true });
    for (let row = 0; row < B * Lq; row++) {
      const sum = r.weights.data.slice(row * Lk, (row + 1) * Lk).reduce((a, b) => a + b);
      expect(sum).toBeCloseTo(row % Lq === 0 ? 0 : 1, 12);
    }
    // NaN in v at key 4 of batch 0, which the −∞ mask removes for query 2: that row stays as it was.
    const v = Float32Array.from(x.v.data);
    v[4 * Dv] = NaN;
    const poisoned = reference.additive(x.q, x.k, { ...x.v, data: v }, { ...w(x), mask });
    for (let c = 0; c < Dv; c++) expect(poisoned.data[2 * Dv + c]).toBeCloseTo(r.output.data[2 * Dv + c], 12);
    // NaN in k there too, with a boolean mask (whose removed keys are never computed): still as it was.
    const k = Float32Array.from(x.k.data);
    k[4 * Dk] = NaN;
    const bool = { data: Uint8Array.from(mask.data, (m) => (m === 0 ? 1 : 0)), shape: mask.shape };
    const both = reference.additive(x.q, { ...x.k, data: k }, { ...x.v, data: v }, { ...w(x), mask: bool });
    for (let c = 0; c < Dv; c++) expect(both.data[2 * Dv + c]).toBeCloseTo(r.output.data[2 * Dv + c], 12);
    expect(Number.isNaN(poisoned.data[3 * Dv])).toBe(true); // query 3 attends key 4: NaN propagates
  });

  it('permuting keys and values together leaves the output unchanged', () => {
    const x = inputs('permute', { ...SIZES, B: 1 });
    const s = { ...SIZES, B: 1 };
    const order = [3, 0, 8, 1, 5, 2, 7, 4, 6];
    const permute = (u: HostTensor, width: number) => ({
      data: order.flatMap((j) => Array.from(u.data as Float32Array).slice(j * width, (j + 1) * width)),
      shape: [...u.shape],
    });
    const a = reference.additive(x.q, x.k, x.v, w(x));
    const b = reference.additive(x.q, permute(x.k, s.Dk), permute(x.v, s.Dv), w(x));
    close(b.data, a.data, 1e-12);
  });
});

describe('reference.multiplicative', () => {
  it('a hand-worked case: q = [1, 0], W = [[1, 2], [3, 4]], keys e₀, e₁ give scores [1, 2]', () => {
    const options = { weight: t([1, 2, 3, 4], [2, 2]), returnWeights: true as const };
    const r = reference.multiplicative(
      t([1, 0], [1, 1, 2]),
      t([1, 0, 0, 1], [1, 2, 2]),
      t([10, 20], [1, 2, 1]),
      options,
    );
    close(r.output.data, [17.310585786300049]);
    close(r.weights.data, [1 / (1 + Math.E), Math.E / (1 + Math.E)]);
  });

  it('is sdpa on keys projected by W (scale and masks included)', () => {
    const x = inputs('sdpa');
    const { B, Lq, Lk, Dq, Dk, Dv } = SIZES;
    const projected = new Float64Array(B * Lk * Dq);
    for (let row = 0; row < B * Lk; row++)
      for (let a = 0; a < Dq; a++)
        for (let d = 0; d < Dk; d++) projected[row * Dq + a] += x.weight.data[a * Dk + d] * x.k.data[row * Dk + d];
    const maskData = new Float64Array(B * Lq * Lk).map((_, e) => (e % 6 === 0 ? -Infinity : Math.sin(e)));
    const mask = { data: maskData, shape: [B, Lq, Lk] };
    const options = { weight: x.weight, scale: 0.3, causal: true, mask };
    const got = reference.multiplicative(x.q, x.k, x.v, options);
    const four = (u: HostTensor | Float64Array, L: number, D: number) => ({
      data: 'data' in u ? u.data : u,
      shape: [B, 1, L, D],
    });
    const want = reference.sdpa(four(x.q, Lq, Dq), four(projected, Lk, Dq), four(x.v, Lk, Dv), {
      scale: 0.3,
      causal: true,
      mask: { data: maskData, shape: [B, 1, Lq, Lk] },
    });
    close(got.data, want.data, 1e-12);
  });

  it('with W = I and scale 1 is Luong’s dot, sdpa with scale 1', () => {
    const x = inputs('dot', { ...SIZES, Dk: SIZES.Dq });
    const D = SIZES.Dq;
    const identity = { data: new Float64Array(D * D).map((_, e) => (e % (D + 1) === 0 ? 1 : 0)), shape: [D, D] };
    const got = reference.multiplicative(x.q, x.k, x.v, { weight: identity });
    const four = (u: HostTensor) => ({ data: u.data, shape: [u.shape[0], 1, u.shape[1], u.shape[2]] });
    close(got.data, reference.sdpa(four(x.q), four(x.k), four(x.v), { scale: 1 }).data, 1e-12);
  });
});

interface TorchCase {
  name: string;
  op: 'additive' | 'multiplicative';
  q: Json;
  k: Json;
  v: Json;
  options: Record<string, Json | number | boolean>;
  output: Json;
  weights: Json;
}
type Json = { shape: number[]; data?: (number | string)[]; bool?: number[] };

const host = (j: Json): HostTensor =>
  j.bool
    ? { data: Uint8Array.from(j.bool), shape: j.shape }
    : { data: j.data!.map((x) => (typeof x === 'string' ? Number(x) : x)), shape: j.shape };

describe('PyTorch vectors (test/data/score-functions/torch-vectors.json)', () => {
  const file = new URL('../data/score-functions/torch-vectors.json', import.meta.url);
  const { cases } = JSON.parse(readFileSync(file, 'utf8')) as { cases: TorchCase[] };

  it('holds the additive and multiplicative cases', () => {
    expect(cases.map((c) => c.op).sort()).toEqual([...Array(4).fill('additive'), ...Array(4).fill('multiplicative')]);
  });

  for (const c of cases) {
    it(c.name, () => {
      const options = Object.fromEntries(
        Object.entries(c.options).map(([key, x]) => [key, typeof x === 'object' ? host(x) : x]),
      );
      const run = c.op === 'additive' ? reference.additive : reference.multiplicative;
      const r = (run as (...a: unknown[]) => { output: HostTensor; weights: HostTensor })(
        host(c.q),
        host(c.k),
        host(c.v),
        { ...options, returnWeights: true },
      );
      close(r.output.data as Float64Array, host(c.output).data as number[], 1e-12);
      close(r.weights.data as Float64Array, host(c.weights).data as number[], 1e-12);
    });
  }
});

describe('bad input (the same AttentionError on the GPU: test/node/score-functions.test.ts)', () => {
  const x = inputs('bad');
  const additive = (options: Record<string, unknown>, q: unknown = x.q) =>
    reference.additive(q as HostTensor, x.k, x.v, { wq: x.wq, wk: x.wk, va: x.va, ...options } as never);
  const multiplicative = (options: Record<string, unknown>) =>
    reference.multiplicative(x.q, x.k, x.v, { weight: x.weight, ...options } as never);

  it('names the argument and the expected value', () => {
    expectRejected(() => additive({}, { data: [1], shape: [1, 1] }), 'q', '[B, Lq, Dq]');
    expectRejected(() => reference.additive(x.q, { ...x.k, shape: [3, 9, 3] }, x.v, w(x)), 'k', 'batch 2, as q');
    expectRejected(() => reference.additive(x.q, x.k, { ...x.v, shape: [2, 8, 4] }, w(x)), 'v');
    expectRejected(() => additive({ wq: { data: new Float64Array(24), shape: [6, 4] } }), 'options.wq', '[A, 5]');
    expectRejected(() => additive({ wk: { data: new Float64Array(12), shape: [4, 3] } }), 'options.wk', '[6, 3]');
    expectRejected(() => additive({ va: { data: new Float64Array(5), shape: [5] } }), 'options.va', '[6]');
    expectRejected(() => additive({ bias: { data: new Float64Array(7), shape: [7] } }), 'options.bias', '[6]');
    expectRejected(() => additive({ va: undefined }), 'options.va', 'undefined');
    expectRejected(() => additive({ wq: { data: new Uint8Array(30), shape: [6, 5] } }), 'options.wq', 'boolean');
    expectRejected(() => additive({ bais: x.bias }), 'options.bais', 'an unknown key');
    expectRejected(() => additive({ causal: 1 }), 'options.causal', 'true or false');
    expectRejected(() => additive({ returnWeights: 'yes' }), 'options.returnWeights', 'true or false');
    const wrongMask = { data: new Float64Array(2 * 9), shape: [2, 9] };
    expectRejected(
      () => additive({ mask: wrongMask }),
      'options.mask',
      'right-aligned against [B, Lq, Lk] = [2, 7, 9]',
    );
    expectRejected(() => additive({ mask: { data: new Float64Array(9), shape: [9] } }), 'options.mask', 'rank 2 or 3');
    expectRejected(() => additive({ mask: { data: new Float64Array(62), shape: [7, 9] } }), 'options.mask.data');
    expectRejected(
      () => multiplicative({ weight: { data: new Float64Array(15), shape: [3, 5] } }),
      'options.weight',
      '[5, 3]',
    );
    expectRejected(() => multiplicative({ scale: 0 }), 'options.scale', 'a finite number > 0');
    expectRejected(() => multiplicative({ wq: x.wq }), 'options.wq', 'an unknown key');
    expectRejected(() => reference.multiplicative(x.q, x.k, x.v, undefined as never), 'options', 'an object');
  });
});
