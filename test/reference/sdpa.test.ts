/**
 * The reference ring: reference.sdpa against answers worked out by hand, against properties that
 * any correct attention has, and every AttentionError path. Then the shared case table.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttentionError } from '../../src/errors';
import { validateMaskShape, validateSdpaOptions, validateSdpaShapes } from '../../src/contract/sdpa';
import { NO_WINDOW } from '../../src/contract/window';
import { NO_VARIANTS } from '../../src/contract/variants';
import { reference } from '../../src/reference/index';
import type { HostTensor, Layout, ReferenceSdpaOptions } from '../../src/contract/types';
import { CASES, caseData, caseOptions, rng } from '../cases';

const { sdpa } = reference;
const t = (data: number[] | Float32Array | Uint8Array, shape: number[]): HostTensor => ({ data, shape });

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!Number.isFinite(expected[i])) expect(actual[i], `element ${i}`).toBe(expected[i]);
    else
      expect(Math.abs(actual[i] - expected[i]), `element ${i}: ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(
        tol * (1 + Math.abs(expected[i])),
      );
  }
}

describe('reference.sdpa: hand-worked cases', () => {
  // q = 1, keys 1 and 2, D = 1 (scale 1): scores [1, 2], weights [1, e]/(1 + e).
  const q1 = t([1], [1, 1, 1, 1]);
  const k2 = t([1, 2], [1, 1, 2, 1]);
  const v2 = t([10, 20], [1, 1, 2, 1]);

  it('Lq=1 Lk=2 D=1: output, weights and lse', () => {
    const r = sdpa(q1, k2, v2, { returnLse: true, returnWeights: true });
    expectClose(r.output.data, [17.31058578630005]);
    expectClose(r.weights.data, [0.2689414213699951, 0.7310585786300049]);
    expectClose(r.lse.data, [2.3132616875182226]); // 1 + ln(1 + e)
    expect(r.output.shape).toEqual([1, 1, 1, 1]);
    expect(r.lse.shape).toEqual([1, 1, 1]);
    expect(r.weights.shape).toEqual([1, 1, 1, 2]);
  });

  it('plain call returns a HostResult', () => {
    const r = sdpa(q1, k2, v2);
    expect(r.data).toBeInstanceOf(Float64Array);
    expect(r.shape).toEqual([1, 1, 1, 1]);
  });

  it('default scale is 1/sqrt(D); an explicit scale replaces it', () => {
    const q = t([1, 1, 1, 1], [1, 1, 1, 4]);
    const k = t([1, 1, 1, 1, 0, 0, 0, 0], [1, 1, 2, 4]);
    const v = t([1, 0, 0, 1], [1, 1, 2, 2]);
    // q·k = [4, 0]; scale 1/2 → [2, 0]; scale 1/4 → [1, 0].
    expectClose(sdpa(q, k, v).data, [0.8807970779778825, 0.11920292202211757]);
    expectClose(sdpa(q, k, v, { scale: 0.25 }).data, [0.7310585786300049, 0.2689414213699951]);
  });

  // Zero queries give equal scores, so each row averages the values of the keys it may see.
  const qz = (Lq: number) => t(new Array(Lq).fill(0), [1, 1, Lq, 1]);
  const k3 = t([5, -3, 7], [1, 1, 3, 1]);
  const v3 = t([1, 2, 4], [1, 1, 3, 1]);

  it('causal Lq=2 Lk=3: upper-left sees keys ≤ i, lower-right keys ≤ i + 1', () => {
    expectClose(sdpa(qz(2), k3, v3, { causal: true }).data, [1, 1.5]);
    expectClose(sdpa(qz(2), k3, v3, { causal: true, alignment: 'upper-left' }).data, [1, 1.5]);
    expectClose(sdpa(qz(2), k3, v3, { causal: true, alignment: 'lower-right' }).data, [1.5, 7 / 3]);
    // Alignment alone does nothing without causal.
    expectClose(sdpa(qz(2), k3, v3, { alignment: 'lower-right' }).data, [7 / 3, 7 / 3]);
  });

  it('causal lower-right with Lq > Lk: the first rows see no key → zeros, lse −Infinity', () => {
    const k = t([0, 0], [1, 1, 2, 1]);
    const v = t([2, 6], [1, 1, 2, 1]);
    const r = sdpa(qz(3), k, v, { causal: true, alignment: 'lower-right', returnLse: true });
    expectClose(r.output.data, [0, 2, 4]);
    expectClose(r.lse.data, [-Infinity, 0, Math.log(2)]);
  });

  it('boolean mask: 1 = may attend', () => {
    const mask = t(new Uint8Array([1, 0, 1, 0, 1, 0]), [2, 3]);
    expectClose(sdpa(qz(2), k3, v3, { mask }).data, [2.5, 2]);
  });

  it('float mask is added; −Infinity removes a key', () => {
    const mask = t([0, -Infinity, Math.log(3)], [1, 3]);
    const r = sdpa(qz(1), k3, v3, { mask, returnLse: true, returnWeights: true });
    expectClose(r.weights.data, [0.25, 0, 0.75]);
    expectClose(r.output.data, [3.25]);
    expectClose(r.lse.data, [1.3862943611198906]); // ln 4
  });

  it('a fully masked row outputs zeros, lse −Infinity and zero weights (bool and float)', () => {
    const v = t([1, 2, 4, -1, -2, -4], [1, 1, 3, 2]);
    for (const mask of [
      t(new Uint8Array([1, 1, 0, 0, 0, 0]), [2, 3]),
      t([0, 0, -Infinity, -Infinity, -Infinity, -Infinity], [2, 3]),
    ]) {
      const r = sdpa(qz(2), k3, v, { mask, returnLse: true, returnWeights: true });
      expectClose(r.output.data, [2.5, 0.5, 0, 0]);
      expectClose(r.lse.data, [Math.log(2), -Infinity]);
      expectClose(r.weights.data, [0.5, 0.5, 0, 0, 0, 0]);
    }
  });

  it('softcap c·tanh(s/c) applies to the scores, before the mask', () => {
    const k = t([10, 0], [1, 1, 2, 1]);
    // Scores [10, 0] → [2·tanh(5), 0] = [1.9998184085251902, 0].
    const r = sdpa(q1, k, v2, { softcap: 2, returnLse: true });
    expectClose(r.output.data, [11.192219892805756]); // 10·0.88077… + 20·0.11922…
    expectClose(r.lse.data, [2.12676806753376]);
    // softcap 0 is off: scores [10, 0].
    expectClose(sdpa(q1, k, v2, { softcap: 0 }).data, [10 + 10 / (1 + Math.exp(10))]);
    // A −Infinity mask stays −Infinity: it is not squashed to −c.
    expectClose(sdpa(q1, k, v2, { softcap: 2, mask: t([-Infinity, 0], [1, 2]) }).data, [20]);
  });

  it('GQA: query heads 0,1 read kv head 0 and heads 2,3 read kv head 1', () => {
    const q = t(new Array(4).fill(0), [1, 4, 1, 1]);
    const k = t([0, 0], [1, 2, 1, 1]);
    const v = t([7, -7], [1, 2, 1, 1]);
    expectClose(sdpa(q, k, v).data, [7, 7, -7, -7]);
  });

  it('a rank-3 mask is [Hq, Lq, Lk] (right-aligned), a [B,1,1,Lk] mask pads keys per batch', () => {
    const q = t(new Array(4).fill(0), [2, 2, 1, 1]);
    const k = t(new Array(4).fill(0), [2, 1, 2, 1]);
    const v = t([1, 3, 5, 9], [2, 1, 2, 1]);
    const perHead = t(new Uint8Array([1, 0, 0, 1]), [2, 1, 2]);
    expectClose(sdpa(q, k, v, { mask: perHead }).data, [1, 3, 5, 9]);
    const perBatch = t(new Uint8Array([1, 0, 1, 1]), [2, 1, 1, 2]);
    expectClose(sdpa(q, k, v, { mask: perBatch }).data, [1, 1, 7, 7]);
  });
});

// ---------- properties ----------

interface Problem {
  B: number;
  Hkv: number;
  group: number;
  Lq: number;
  Lk: number;
  D: number;
  Dv: number;
  seed: number;
  amp: number;
  causal: boolean;
  lowerRight: boolean;
  masked: boolean;
}

const problem = (amp: fc.Arbitrary<number> = fc.constant(1)) =>
  fc.record({
    B: fc.integer({ min: 1, max: 2 }),
    Hkv: fc.integer({ min: 1, max: 2 }),
    group: fc.integer({ min: 1, max: 3 }),
    Lq: fc.integer({ min: 1, max: 5 }),
    Lk: fc.integer({ min: 1, max: 6 }),
    D: fc.integer({ min: 1, max: 4 }),
    Dv: fc.integer({ min: 1, max: 4 }),
    seed: fc.integer(),
    amp,
    causal: fc.boolean(),
    lowerRight: fc.boolean(),
    masked: fc.boolean(),
  });

function random(n: number, next: () => number, amp = 1): Float64Array {
  return Float64Array.from({ length: n }, () => (next() * 2 - 1) * amp);
}

/** q, k, v (bhsd) and options for a problem; the mask is [B, 1, Lq, Lk] boolean. */
type PlainOptions = ReferenceSdpaOptions & { returnLse?: false; returnWeights?: false };
function build(p: Problem): { q: HostTensor; k: HostTensor; v: HostTensor; options: PlainOptions; Hq: number } {
  const next = rng(`p${p.seed}`);
  const Hq = p.Hkv * p.group;
  const q = t([...random(p.B * Hq * p.Lq * p.D, next, p.amp)], [p.B, Hq, p.Lq, p.D]);
  const k = t([...random(p.B * p.Hkv * p.Lk * p.D, next, p.amp)], [p.B, p.Hkv, p.Lk, p.D]);
  const v = t([...random(p.B * p.Hkv * p.Lk * p.Dv, next)], [p.B, p.Hkv, p.Lk, p.Dv]);
  const options: PlainOptions = { causal: p.causal, alignment: p.lowerRight ? 'lower-right' : 'upper-left' };
  if (p.masked)
    options.mask = t(
      Uint8Array.from({ length: p.B * p.Lq * p.Lk }, () => (next() < 0.7 ? 1 : 0)),
      [p.B, 1, p.Lq, p.Lk],
    );
  return { q, k, v, options, Hq };
}

/** The logits of row (b, h, i) computed the obvious way, −Infinity where masked. */
function naiveLogits(x: ReturnType<typeof build>, p: Problem, b: number, h: number, i: number): number[] {
  const offset = p.lowerRight ? p.Lk - p.Lq : 0;
  const g = Math.floor(h / p.group);
  return Array.from({ length: p.Lk }, (_, j) => {
    const maskOk = !x.options.mask || x.options.mask.data[(b * p.Lq + i) * p.Lk + j] === 1;
    if (!maskOk || (p.causal && j > i + offset)) return -Infinity;
    let s = 0;
    for (let d = 0; d < p.D; d++)
      s +=
        Number(x.q.data[((b * x.Hq + h) * p.Lq + i) * p.D + d]) *
        Number(x.k.data[((b * p.Hkv + g) * p.Lk + j) * p.D + d]);
    return s / Math.sqrt(p.D);
  });
}

/** Swaps axes 1 and 2 of a 4-D tensor (bhsd ⇄ bshd). */
function swap12(x: HostTensor): HostTensor {
  const [A, X, Y, Z] = x.shape;
  const out = new Float64Array(x.data.length);
  for (let a = 0; a < A; a++)
    for (let i = 0; i < X; i++)
      for (let j = 0; j < Y; j++)
        for (let z = 0; z < Z; z++) {
          out[((a * Y + j) * X + i) * Z + z] = Number(x.data[((a * X + i) * Y + j) * Z + z]);
        }
  return { data: out, shape: [A, Y, X, Z] };
}

/** Reorders the last axis (the keys of a mask): out[..., j] = x[..., perm[j]]. */
function permuteLast(x: HostTensor, perm: number[]): HostTensor {
  const n = perm.length;
  const out = new Uint8Array(x.data.length);
  for (let r = 0; r < x.data.length / n; r++)
    for (let j = 0; j < n; j++) out[r * n + j] = Number(x.data[r * n + perm[j]]);
  return { data: out, shape: [...x.shape] };
}

/** Reorders axis 2 (keys) of a 4-D tensor: out[..., j, :] = x[..., perm[j], :]. */
function permuteAxis2(x: HostTensor, perm: number[]): HostTensor {
  const [A, X, Y, Z] = x.shape;
  const out = new Float64Array(x.data.length);
  for (let a = 0; a < A * X; a++)
    for (let j = 0; j < Y; j++)
      for (let z = 0; z < Z; z++) {
        out[(a * Y + j) * Z + z] = Number(x.data[(a * Y + perm[j]) * Z + z]);
      }
  return { data: out, shape: [...x.shape] };
}

describe('reference.sdpa: properties', () => {
  it('weights rows sum to 1 (0 for a row with no key), and lse = log Σ exp(logits)', () => {
    fc.assert(
      fc.property(problem(fc.double({ min: 0.1, max: 4, noNaN: true })), (p) => {
        const x = build(p);
        const r = sdpa(x.q, x.k, x.v, { ...x.options, returnLse: true, returnWeights: true });
        for (let b = 0; b < p.B; b++)
          for (let h = 0; h < x.Hq; h++)
            for (let i = 0; i < p.Lq; i++) {
              const row = (b * x.Hq + h) * p.Lq + i;
              const logits = naiveLogits(x, p, b, h, i);
              const live = logits.some((l) => l > -Infinity);
              const sum = r.weights.data.slice(row * p.Lk, (row + 1) * p.Lk).reduce((a, w) => a + w, 0);
              expect(sum).toBeCloseTo(live ? 1 : 0, 12);
              const naive = Math.log(logits.reduce((a, l) => a + Math.exp(l), 0));
              if (live) expect(r.lse.data[row]).toBeCloseTo(naive, 12);
              else expect(r.lse.data[row]).toBe(-Infinity);
            }
      }),
    );
  });

  it('permuting keys and values together (and the mask columns) leaves the output unchanged', () => {
    fc.assert(
      fc.property(
        problem().chain((p) =>
          fc.tuple(
            fc.constant({ ...p, causal: false }),
            fc.shuffledSubarray([...Array(p.Lk).keys()], { minLength: p.Lk, maxLength: p.Lk }),
          ),
        ),
        ([p, perm]) => {
          const x = build(p);
          const permutedMask = x.options.mask && permuteLast(x.options.mask, perm);
          const base = sdpa(x.q, x.k, x.v, x.options);
          const moved = sdpa(x.q, permuteAxis2(x.k, perm), permuteAxis2(x.v, perm), {
            ...x.options,
            mask: permutedMask,
          });
          expectClose(moved.data, base.data, 1e-12);
        },
      ),
    );
  });

  it('GQA equals repeating each kv head Hq/Hkv times', () => {
    fc.assert(
      fc.property(problem(), (p) => {
        const x = build(p);
        const repeat = (y: HostTensor): HostTensor => {
          const [B, H, L, D] = y.shape;
          const out: number[] = [];
          for (let b = 0; b < B; b++)
            for (let h = 0; h < H * p.group; h++) {
              const src = (b * H + Math.floor(h / p.group)) * L * D;
              for (let e = 0; e < L * D; e++) out.push(Number(y.data[src + e]));
            }
          return t(out, [B, H * p.group, L, D]);
        };
        expectClose(sdpa(x.q, repeat(x.k), repeat(x.v), x.options).data, sdpa(x.q, x.k, x.v, x.options).data, 1e-14);
      }),
    );
  });

  it('layout bshd equals bhsd with the inputs and the output transposed', () => {
    fc.assert(
      fc.property(problem(), (p) => {
        const x = build(p);
        const bhsd = sdpa(x.q, x.k, x.v, x.options);
        const bshd = sdpa(swap12(x.q), swap12(x.k), swap12(x.v), { ...x.options, layout: 'bshd' as Layout });
        expect(bshd.shape).toEqual([p.B, p.Lq, x.Hq, p.Dv]);
        expectClose(bshd.data, swap12(bhsd).data, 0);
      }),
    );
  });

  it('scores of ±1e4 give finite outputs inside the range of V, and a finite lse', () => {
    fc.assert(
      fc.property(problem(fc.constant(Math.sqrt(1e4))), (p) => {
        const x = build(p);
        const r = sdpa(x.q, x.k, x.v, { ...x.options, scale: 1, returnLse: true });
        const vs = [...(x.v.data as number[])];
        const [lo, hi] = [Math.min(...vs), Math.max(...vs)];
        // A row with no key (causal lower-right with Lk < Lq, or the mask) is exactly 0.
        for (const o of r.output.data) expect(o === 0 || (o >= lo - 1e-9 && o <= hi + 1e-9)).toBe(true);
        for (const l of r.lse.data) expect(Number.isNaN(l) || l === Infinity).toBe(false);
      }),
    );
  });

  it('a score of exactly 1e4 next to one of 0 keeps all weight on the first key', () => {
    const r = sdpa(t([1e4], [1, 1, 1, 1]), t([1, 0], [1, 1, 2, 1]), t([3, 5], [1, 1, 2, 1]), { returnLse: true });
    expectClose(r.output.data, [3]);
    expectClose(r.lse.data, [1e4]);
  });
});

// ---------- validation ----------

/** Asserts that `fn` throws an AttentionError for `argument` whose message matches `pattern`. */
function expectError(fn: () => unknown, argument: string, pattern?: RegExp): void {
  expect(fn).toThrow(AttentionError);
  try {
    fn();
  } catch (e) {
    expect((e as AttentionError).argument).toBe(argument);
    expect((e as Error).message).toContain(argument);
    if (pattern) expect((e as Error).message).toMatch(pattern);
  }
}

describe('reference.sdpa: AttentionError paths', () => {
  const q = t(new Float32Array(2 * 4 * 3 * 8), [2, 4, 3, 8]);
  const k = t(new Float32Array(2 * 2 * 5 * 8), [2, 2, 5, 8]);
  const v = t(new Float32Array(2 * 2 * 5 * 6), [2, 2, 5, 6]);
  const call =
    (o?: unknown, qq: unknown = q, kk: unknown = k, vv: unknown = v) =>
    () =>
      sdpa(qq as HostTensor, kk as HostTensor, vv as HostTensor, o as ReferenceSdpaOptions);

  it('accepts the valid call', () => expect(sdpa(q, k, v).shape).toEqual([2, 4, 3, 6]));

  it('q, k, v must be host tensors of rank 4 with positive integer dims', () => {
    expectError(call(undefined, null), 'q', /got null; expected a host tensor/);
    expectError(call(undefined, t([], [2, 4, 3])), 'q', /shape \[2, 4, 3\].*4 positive integers/);
    expectError(call(undefined, t([], [2, 0, 3, 8])), 'q', /\[2, 0, 3, 8\]/);
    expectError(call(undefined, q, t([], [2, 2, 5, 8.5])), 'k');
    expectError(call(undefined, q, k, 'v'), 'v');
  });

  it('shapes must agree', () => {
    expectError(call(undefined, q, t(new Float32Array(80), [1, 2, 5, 8])), 'k', /batch 1 .*expected batch 2/);
    expectError(
      call(undefined, q, t(new Float32Array(160), [2, 2, 5, 4]), t(new Float32Array(120), [2, 2, 5, 6])),
      'k',
      /head dim 4.*expected head dim 8/,
    );
    expectError(call(undefined, q, k, t(new Float32Array(60), [1, 2, 5, 6])), 'v', /batch 1/);
    expectError(call(undefined, q, k, t(new Float32Array(180), [2, 3, 5, 6])), 'v', /3 heads.*expected 2 heads/);
    expectError(call(undefined, q, k, t(new Float32Array(96), [2, 2, 4, 6])), 'v', /4 keys.*expected 5 keys/);
    expectError(
      call(undefined, q, t(new Float32Array(240), [2, 3, 5, 8]), t(new Float32Array(180), [2, 3, 5, 6])),
      'k',
      /3 kv heads for 4 query heads.*divisor of 4/,
    );
  });

  it('data lengths must match the shapes', () => {
    expectError(
      call(undefined, t(new Float32Array(5), q.shape as number[])),
      'q.data',
      /got 5 elements; expected 192 elements/,
    );
    expectError(call(undefined, q, t(new Float32Array(5), k.shape as number[])), 'k.data');
    expectError(call(undefined, q, k, t(new Float32Array(5), v.shape as number[])), 'v.data');
    expectError(call({ mask: t(new Uint8Array(3), [3, 5]) }), 'options.mask.data', /got 3 elements; expected 15/);
  });

  it('layout is checked before shapes, and shapes read in it', () => {
    expectError(call({ layout: 'bsd' }), 'options.layout', /got 'bsd'; expected one of 'bhsd', 'bshd'/);
    // In bshd, [2, 4, 3, 8] is L=4, H=3: 3 query heads do not divide by k's 5 heads.
    expectError(call({ layout: 'bshd' }), 'k', /5 kv heads for 3 query heads/);
  });

  it('masks: rank 2–4, each dim 1 or the full size, right-aligned', () => {
    expectError(call({ mask: t(new Uint8Array(5), [5]) }), 'options.mask', /shape \[5\].*rank 2 to 4/);
    expectError(call({ mask: t(new Uint8Array(15), [1, 1, 1, 3, 5]) }), 'options.mask');
    expectError(call({ mask: t(new Uint8Array(12), [3, 4]) }), 'options.mask', /dim 4 against 5.*\[2, 4, 3, 5\]/);
    expectError(call({ mask: t(new Uint8Array(30), [2, 3, 5]) }), 'options.mask', /dim 2 against 4/);
    expectError(call({ mask: t(new Uint8Array(0), [0, 5]) }), 'options.mask');
    expectError(call({ mask: 'causal' }), 'options.mask', /host tensor/);
  });

  it('scalar options', () => {
    for (const scale of [0, -1, NaN, Infinity, '1', 1e39, 3.5e38])
      expectError(call({ scale }), 'options.scale', /expected a finite number > 0 that float32 holds/);
    for (const softcap of [-1, NaN, Infinity, 1e39])
      expectError(call({ softcap }), 'options.softcap', /expected a finite number ≥ 0 \(0 = off\) that float32/);
    // The kernels scale q·k by scale / softcap: a ratio past float32 is refused, the largest f32 scale is not.
    expectError(call({ scale: 1e30, softcap: 1e-10 }), 'options.softcap', /at least scale \/ 3\.4028234663852886e\+38/);
    expect(() => call({ scale: 3.4028234663852886e38 })()).not.toThrow();
    expect(() => call({ scale: 1e30, softcap: 1e-8 })()).not.toThrow();
    expectError(
      call({ alignment: 'center' }),
      'options.alignment',
      /got 'center'; expected one of 'upper-left', 'lower-right'/,
    );
    expectError(call({ causal: 'yes' }), 'options.causal', /expected true or false/);
    expectError(call({ returnLse: 1 }), 'options.returnLse');
    expectError(call({ returnWeights: 'all' }), 'options.returnWeights');
    expectError(call(42), 'options', /got 42; expected an object/);
  });
});

describe('sdpa-validate (shared with the GPU op)', () => {
  const dims = validateSdpaShapes([2, 4, 7, 8], [2, 2, 9, 8], [2, 2, 9, 16], 'bhsd');

  it('reads the sizes in either layout', () => {
    expect(dims).toEqual({ B: 2, Hq: 4, Hkv: 2, Lq: 7, Lk: 9, D: 8, Dv: 16 });
    expect(validateSdpaShapes([2, 7, 4, 8], [2, 9, 2, 8], [2, 9, 2, 16], 'bshd')).toEqual(dims);
  });

  it('resolves defaults and the causal offset', () => {
    expect(validateSdpaOptions(undefined, dims)).toEqual({
      scale: 1 / Math.sqrt(8),
      softcap: 0,
      causal: false,
      offset: 0,
      layout: 'bhsd',
      returnLse: false,
      window: NO_WINDOW,
      modifiers: { alibiSlopes: null, sinks: null },
      variants: NO_VARIANTS,
    });
    expect(validateSdpaOptions({ causal: true, alignment: 'lower-right' }, dims).offset).toBe(2);
  });

  it('gives mask strides in elements, 0 where the mask broadcasts', () => {
    expect(validateMaskShape([2, 4, 7, 9], dims)).toEqual({ b: 252, h: 63, i: 9, j: 1 });
    expect(validateMaskShape([7, 9], dims)).toEqual({ b: 0, h: 0, i: 9, j: 1 });
    expect(validateMaskShape([2, 1, 1, 9], dims)).toEqual({ b: 9, h: 0, i: 0, j: 1 });
    expect(validateMaskShape([4, 7, 1], dims)).toEqual({ b: 0, h: 7, i: 1, j: 0 });
  });
});

// ---------- the shared case table ----------

describe('reference.sdpa: every case of test/cases.ts', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const { q, k, v, mask } = caseData(c);
      const r = sdpa(q, k, v, { ...caseOptions(c), mask, returnLse: c.returnLse });
      const output = 'output' in r ? r.output : r;
      const lse = 'output' in r ? r.lse : undefined;
      expect(output.shape).toEqual(c.layout === 'bshd' ? [c.B, c.Lq, c.Hq, c.Dv] : [c.B, c.Hq, c.Lq, c.Dv]);
      expect(output.data.length).toBe(c.B * c.Hq * c.Lq * c.Dv);
      expect(output.data.every(Number.isFinite)).toBe(true);
      expect(lse === undefined).toBe(!c.returnLse);
      if (lse) {
        expect(lse.shape).toEqual([c.B, c.Hq, c.Lq]);
        expect(lse.data.every((l) => Number.isFinite(l) || l === -Infinity)).toBe(true);
      }
    });
  }
});
