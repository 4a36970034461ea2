/**
 * The reference ring for neighbourhood attention: reference.neighborhood2d / 1d against windows
 * worked out by hand, against reference.sdpa with a mask built independently from NATTEN's own
 * get_window_start (and the causal rule in original coordinates), and every AttentionError path.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { axisWindow, validateNeighborhood } from '../../src/contract/neighborhood';
import { reference } from '../../src/reference/index';
import type { HostTensor } from '../../src/contract/types';
import { rng } from '../cases';
import { expectRejected } from '../helpers/rejections';

const t = (data: HostTensor['data'], shape: number[]): HostTensor => ({ data, shape });
const zeros = (shape: number[]) => t(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
const random = (shape: number[], next: () => number) =>
  t(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => next() * 2 - 1),
    shape,
  );

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i] - expected[i]), `element ${i}: ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(
      tol * (1 + Math.abs(expected[i])),
    );
  }
}

/** V = identity over L positions (Dv = L) and q = 0: output row i is the uniform distribution over i's keys. */
function seenKeys1d(L: number, kernel: number, dilation = 1, causal = false): number[][] {
  const v = t(
    Float64Array.from({ length: L * L }, (_, n) => (Math.floor(n / L) === n % L ? 1 : 0)),
    [1, 1, L, L],
  );
  const out = reference.neighborhood1d(zeros([1, 1, L, 1]), zeros([1, 1, L, 1]), v, { kernel, dilation, causal });
  return Array.from({ length: L }, (_, i) => [...Array(L).keys()].filter((j) => out.data[i * L + j] > 0));
}

describe('reference.neighborhood1d: hand-worked windows', () => {
  it('L=7 k=3: centred, shifted inwards at the borders', () => {
    const seen = seenKeys1d(7, 3);
    expect(seen[0]).toEqual([0, 1, 2]);
    expect(seen[3]).toEqual([2, 3, 4]);
    expect(seen[6]).toEqual([4, 5, 6]);
  });

  it('L=9 k=3 dilation 2: each dilation group on its own', () => {
    const seen = seenKeys1d(9, 3, 2);
    expect(seen[0]).toEqual([0, 2, 4]);
    expect(seen[1]).toEqual([1, 3, 5]);
    expect(seen[7]).toEqual([3, 5, 7]); // group 1 has 4 positions (1, 3, 5, 7): the last window is shifted in
    expect(seen[8]).toEqual([4, 6, 8]);
  });

  it('L=7 k=3 causal: never a later key, fewer keys at the start', () => {
    const seen = seenKeys1d(7, 3, 1, true);
    expect(seen[0]).toEqual([0]);
    expect(seen[1]).toEqual([0, 1]);
    expect(seen[5]).toEqual([3, 4, 5]);
    expect(seenKeys1d(9, 3, 2, true)[7]).toEqual([3, 5, 7]);
  });

  it('axisWindow, the rule itself', () => {
    expect(axisWindow(0, 7, 7, 1, false)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(axisWindow(2, 13, 3, 4, false)).toEqual([2, 6, 10]);
    expect(axisWindow(12, 13, 3, 4, false)).toEqual([4, 8, 12]);
    expect(axisWindow(12, 13, 3, 4, true)).toEqual([4, 8, 12]);
    expect(axisWindow(4, 13, 3, 4, true)).toEqual([0, 4]);
  });

  it('rpb is indexed by (j − i)/d + k − 1 and added after scaling', () => {
    // L = 3, k = 3, q·k = 0: query 0 sees keys 0, 1, 2 at offsets 0, 1, 2 → rpb[2], rpb[3], rpb[4].
    const rpb = t([0, 10, 1, 2, 3], [1, 5]);
    const v = t([1, 0, 0, 0, 1, 0, 0, 0, 1], [1, 1, 3, 3]);
    const out = reference.neighborhood1d(zeros([1, 1, 3, 1]), zeros([1, 1, 3, 1]), v, { kernel: 3, rpb });
    const softmax = (xs: number[]) => xs.map((x) => Math.exp(x) / xs.reduce((s, y) => s + Math.exp(y), 0));
    expectClose(out.data.slice(0, 3), softmax([1, 2, 3]));
    expectClose(out.data.slice(3, 6), softmax([10, 1, 2])); // query 1: offsets −1, 0, +1
    expectClose(out.data.slice(6, 9), softmax([0, 10, 1])); // query 2: offsets −2, −1, 0
  });

  it('default scale is 1/√D; an explicit scale replaces it', () => {
    // L = 3, k = 3, D = 4: query 0 sees keys 0, 1, 2 with q·k = [4, 0, 0]; V = identity.
    const q = t([1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0], [1, 1, 3, 4]);
    const v = t([1, 0, 0, 0, 1, 0, 0, 0, 1], [1, 1, 3, 3]);
    const e = (x: number) => [Math.exp(x) / (Math.exp(x) + 2), 1 / (Math.exp(x) + 2), 1 / (Math.exp(x) + 2)];
    expectClose(reference.neighborhood1d(q, q, v, { kernel: 3 }).data.slice(0, 3), e(2));
    expectClose(reference.neighborhood1d(q, q, v, { kernel: 3, scale: 0.25 }).data.slice(0, 3), e(1));
  });
});

describe('reference.neighborhood2d: hand-worked windows', () => {
  it("5×6 k=3 dilation [1, 2]: the neighbourhood is the product of the two axes' windows", () => {
    const L = 30;
    const v = t(
      Float64Array.from({ length: L * L }, (_, n) => (Math.floor(n / L) === n % L ? 1 : 0)),
      [1, 1, 5, 6, L],
    );
    const out = reference.neighborhood2d(zeros([1, 1, 5, 6, 1]), zeros([1, 1, 5, 6, 1]), v, {
      kernel: 3,
      dilation: [1, 2],
    });
    const seen = (y: number, x: number) =>
      [...Array(L).keys()].filter((j) => out.data[(y * 6 + x) * L + j] > 0).map((j) => [Math.floor(j / 6), j % 6]);
    expect(seen(0, 0)).toEqual([
      [0, 0],
      [0, 2],
      [0, 4],
      [1, 0],
      [1, 2],
      [1, 4],
      [2, 0],
      [2, 2],
      [2, 4],
    ]);
    // (4, 1): rows 2, 3, 4 (shifted in from the bottom edge); columns 1, 3, 5 (dilation group 1).
    expect(seen(4, 1)).toEqual([
      [2, 1],
      [2, 3],
      [2, 5],
      [3, 1],
      [3, 3],
      [3, 5],
      [4, 1],
      [4, 3],
      [4, 5],
    ]);
  });
});

/** NATTEN's get_window_start (natten/csrc naive kernels), for the neighbourhood size r = (k − 1)/2. */
function nattenWindowStart(index: number, length: number, k: number, d: number): number {
  const r = (k - 1) / 2;
  if (d <= 1) return Math.max(index - r, 0) + (index + r >= length ? length - index - r - 1 : 0);
  const ni = index - r * d;
  if (ni < 0) return index % d;
  if (index + r * d >= length) {
    const imodd = index % d;
    const a = Math.floor(length / d) * d;
    const b = length - a;
    if (imodd < b) return length - b + imodd - 2 * r * d;
    return a + imodd - k * d;
  }
  return ni;
}

/** Whether key j is in query i's window along one axis, written independently of the library. */
function inWindow(i: number, j: number, n: number, k: number, d: number, causal: boolean): boolean {
  if (causal) return j <= i && (i - j) % d === 0 && (i - j) / d < k;
  const start = nattenWindowStart(i, n, k, d);
  return j >= start && (j - start) % d === 0 && (j - start) / d < k;
}

interface RandomCase {
  Y: number;
  X: number;
  ky: number;
  kx: number;
  dy: number;
  dx: number;
  cy: boolean;
  cx: boolean;
  B: number;
  Hkv: number;
  group: number;
  D: number;
  Dv: number;
  channelsLast: boolean;
  rpb: boolean;
  seed: number;
}

const caseArbitrary: fc.Arbitrary<RandomCase> = fc
  .record({
    ky: fc.constantFrom(1, 3, 5),
    kx: fc.constantFrom(1, 3, 5, 7),
    dy: fc.integer({ min: 1, max: 3 }),
    dx: fc.integer({ min: 1, max: 3 }),
    extraY: fc.integer({ min: 0, max: 5 }),
    extraX: fc.integer({ min: 0, max: 5 }),
    cy: fc.boolean(),
    cx: fc.boolean(),
    B: fc.integer({ min: 1, max: 2 }),
    Hkv: fc.integer({ min: 1, max: 2 }),
    group: fc.constantFrom(1, 2),
    D: fc.integer({ min: 1, max: 6 }),
    Dv: fc.integer({ min: 1, max: 5 }),
    channelsLast: fc.boolean(),
    rpb: fc.boolean(),
    seed: fc.integer({ min: 0, max: 1e6 }),
  })
  .map((r) => ({ ...r, Y: r.ky * r.dy + r.extraY, X: r.kx * r.dx + r.extraX }));

/** sdpa's float mask [1, Hq, L, L] for the case: the rpb term inside the window, −∞ outside (boolean when no rpb). */
function sdpaMask(c: RandomCase, rpb: HostTensor | undefined): HostTensor {
  const L = c.Y * c.X;
  const Hq = c.Hkv * c.group;
  const heads = rpb ? Hq : 1;
  const data = rpb ? new Float64Array(heads * L * L) : new Uint8Array(L * L);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < L; i++)
      for (let j = 0; j < L; j++) {
        const [iy, ix, jy, jx] = [Math.floor(i / c.X), i % c.X, Math.floor(j / c.X), j % c.X];
        const inside = inWindow(iy, jy, c.Y, c.ky, c.dy, c.cy) && inWindow(ix, jx, c.X, c.kx, c.dx, c.cx);
        const at = (h * L + i) * L + j;
        if (!rpb) data[at] = inside ? 1 : 0;
        else
          data[at] = inside
            ? Number(
                rpb.data[
                  (h * (2 * c.ky - 1) + (jy - iy) / c.dy + c.ky - 1) * (2 * c.kx - 1) + (jx - ix) / c.dx + c.kx - 1
                ],
              )
            : -Infinity;
      }
  return t(data, rpb ? [1, Hq, L, L] : [1, 1, L, L]);
}

describe('reference.neighborhood2d equals reference.sdpa with the neighbourhood as a mask', () => {
  it('random shapes, kernels, dilations, per-axis causal, GQA, layouts, rpb', () => {
    fc.assert(
      fc.property(caseArbitrary, (c) => {
        const next = rng(`neighborhood ${c.seed}`);
        const Hq = c.Hkv * c.group;
        const shape = (H: number, dim: number) => (c.channelsLast ? [c.B, c.Y, c.X, H, dim] : [c.B, H, c.Y, c.X, dim]);
        const flat = (H: number, dim: number) => (c.channelsLast ? [c.B, c.Y * c.X, H, dim] : [c.B, H, c.Y * c.X, dim]);
        const [q, k, v] = [
          random(shape(Hq, c.D), next),
          random(shape(c.Hkv, c.D), next),
          random(shape(c.Hkv, c.Dv), next),
        ];
        const rpb = c.rpb ? random([Hq, 2 * c.ky - 1, 2 * c.kx - 1], next) : undefined;
        const layout = c.channelsLast ? ('byxhd' as const) : ('bhyxd' as const);
        const got = reference.neighborhood2d(q, k, v, {
          kernel: [c.ky, c.kx],
          dilation: [c.dy, c.dx],
          causal: [c.cy, c.cx],
          rpb,
          layout,
        });
        const want = reference.sdpa(
          t(q.data, flat(Hq, c.D)),
          t(k.data, flat(c.Hkv, c.D)),
          t(v.data, flat(c.Hkv, c.Dv)),
          { mask: sdpaMask(c, rpb), layout: c.channelsLast ? 'bshd' : 'bhsd' },
        );
        expect(got.shape).toEqual(shape(Hq, c.Dv));
        expectClose(got.data, want.data, 1e-10);
      }),
      { numRuns: 60, seed: 4242 },
    );
  });

  it('1-D is 2-D with Y = 1 (both layouts)', () => {
    const next = rng('1d vs 2d');
    for (const [layout1, layout2, shape1, shape2] of [
      ['bhsd', 'bhyxd', [2, 2, 11, 3], [2, 2, 1, 11, 3]],
      ['bshd', 'byxhd', [2, 11, 2, 3], [2, 1, 11, 2, 3]],
    ] as const) {
      const [q, k, v] = [random([...shape1], next), random([...shape1], next), random([...shape1], next)];
      const rpb = random([2, 9], next);
      const one = reference.neighborhood1d(q, k, v, { kernel: 5, dilation: 2, causal: true, rpb, layout: layout1 });
      const two = reference.neighborhood2d(t(q.data, [...shape2]), t(k.data, [...shape2]), t(v.data, [...shape2]), {
        kernel: [1, 5],
        dilation: [1, 2],
        causal: [false, true],
        rpb: t(rpb.data, [2, 1, 9]),
        layout: layout2,
      });
      expect(one.shape).toEqual([...shape1]);
      expectClose(one.data, two.data, 0);
    }
  });
});

describe('neighbourhood validation (shared with the GPU ops)', () => {
  const q = zeros([1, 4, 5, 6, 8]);
  const k = zeros([1, 2, 5, 6, 8]);
  const v = zeros([1, 2, 5, 6, 3]);
  const n2 = reference.neighborhood2d;
  const n1 = reference.neighborhood1d;

  it('shapes: rank, batch, map, head dim, heads', () => {
    expectRejected(
      () => n2(zeros([4, 5, 6, 8]), k, v, { kernel: 3 }),
      'q',
      '[4, 5, 6, 8]',
      '5 positive integers',
      'bhyxd',
    );
    expectRejected(() => n2(q, zeros([2, 2, 5, 6, 8]), v, { kernel: 3 }), 'k', 'batch 2', 'batch 1');
    expectRejected(() => n2(q, zeros([1, 2, 5, 7, 8]), v, { kernel: 3 }), 'k', 'map 5×7', 'map 5×6');
    expectRejected(() => n2(q, k, zeros([1, 2, 4, 6, 3]), { kernel: 3 }), 'v', 'map 4×6');
    expectRejected(() => n2(q, zeros([1, 2, 5, 6, 4]), v, { kernel: 3 }), 'k', 'head dim 4', 'head dim 8');
    expectRejected(() => n2(q, k, zeros([1, 1, 5, 6, 3]), { kernel: 3 }), 'v', '1 heads', '2 heads');
    expectRejected(
      () => n2(q, zeros([1, 3, 5, 6, 8]), zeros([1, 3, 5, 6, 3]), { kernel: 3 }),
      'k',
      '3 kv heads for 4 query heads',
    );
    expectRejected(
      () => n1(zeros([1, 2, 9, 4]), zeros([1, 2, 8, 4]), zeros([1, 2, 8, 4]), { kernel: 3 }),
      'k',
      'length 8',
      'length 9',
    );
    expectRejected(
      () => n2(t([1, 2], [1, 1, 1, 1, 1]), t([1], [1, 1, 1, 1, 1]), t([1], [1, 1, 1, 1, 1]), { kernel: 1 }),
      'q.data',
      '2 elements',
      '1 elements',
    );
  });

  it('kernel: odd, positive, integer, fits the axis with its dilation', () => {
    expectRejected(() => n2(q, k, v, { kernel: 4 }), 'options.kernel', '4', 'odd');
    expectRejected(() => n2(q, k, v, { kernel: 0 }), 'options.kernel', '0');
    expectRejected(() => n2(q, k, v, { kernel: 2.5 }), 'options.kernel', '2.5');
    expectRejected(() => n2(q, k, v, { kernel: [3, 2] }), 'options.kernel', '[3, 2]', '[y, x]');
    expectRejected(() => n2(q, k, v, {} as { kernel: number }), 'options.kernel', 'undefined');
    expectRejected(
      () => n2(q, k, v, { kernel: 7 }),
      'options.kernel',
      'y axis of length 5',
      'dilation 1',
      'kernel·dilation ≤ 5',
    );
    expectRejected(
      () => n2(q, k, v, { kernel: 3, dilation: [1, 3] }),
      'options.kernel',
      'x axis of length 6',
      'dilation 3',
      '= 9',
    );
    expectRejected(
      () => n1(zeros([1, 1, 9, 2]), zeros([1, 1, 9, 2]), zeros([1, 1, 9, 2]), { kernel: 5, dilation: 2 }),
      'options.kernel',
      'sequence of length 9',
      'dilation 2',
    );
    expectRejected(
      () => n1(zeros([1, 1, 9, 2]), zeros([1, 1, 9, 2]), zeros([1, 1, 9, 2]), { kernel: [3, 3] as unknown as number }),
      'options.kernel',
      '[3, 3]',
    );
  });

  it('dilation, causal, scale, layout, options', () => {
    expectRejected(() => n2(q, k, v, { kernel: 3, dilation: 0 }), 'options.dilation', '0', 'integer ≥ 1');
    expectRejected(() => n2(q, k, v, { kernel: 3, dilation: 1.5 }), 'options.dilation', '1.5');
    expectRejected(
      () => n2(q, k, v, { kernel: 3, causal: 'yes' as unknown as boolean }),
      'options.causal',
      "'yes'",
      'true or false',
    );
    expectRejected(() => n2(q, k, v, { kernel: 3, causal: [true] as unknown as boolean }), 'options.causal', '[true]');
    expectRejected(() => n2(q, k, v, { kernel: 3, scale: 0 }), 'options.scale', '0', '> 0');
    expectRejected(() => n2(q, k, v, { kernel: 3, scale: Number.NaN }), 'options.scale', 'NaN');
    expectRejected(
      () => n2(q, k, v, { kernel: 3, layout: 'bhsd' as 'bhyxd' }),
      'options.layout',
      "'bhsd'",
      "'bhyxd', 'byxhd'",
    );
    expectRejected(
      () => n1(zeros([1, 1, 9, 2]), zeros([1, 1, 9, 2]), zeros([1, 1, 9, 2]), { kernel: 3, layout: 'bhyxd' as 'bhsd' }),
      'options.layout',
      "'bhsd', 'bshd'",
    );
    expectRejected(() => n2(q, k, v, undefined as unknown as { kernel: number }), 'options', 'undefined', 'kernel');
  });

  it('rpb: the expected shape is in the message', () => {
    expectRejected(
      () => n2(q, k, v, { kernel: 3, rpb: zeros([4, 3, 3]) }),
      'options.rpb',
      'got shape [4, 3, 3]',
      'expected shape [4, 5, 5]',
    );
    expectRejected(
      () => n2(q, k, v, { kernel: [3, 5], rpb: zeros([4, 5, 5]) }),
      'options.rpb',
      'expected shape [4, 5, 9]',
    );
    expectRejected(
      () => n1(zeros([1, 2, 9, 2]), zeros([1, 2, 9, 2]), zeros([1, 2, 9, 2]), { kernel: 3, rpb: zeros([2, 3]) }),
      'options.rpb',
      'expected shape [2, 5]',
    );
    expectRejected(
      () => n2(q, k, v, { kernel: 3, rpb: [1, 2] as unknown as HostTensor }),
      'options.rpb',
      'host tensor',
    );
  });

  it('resolves a 1-D call to the 2-D form', () => {
    const r = validateNeighborhood(
      1,
      { q: [1, 9, 2, 8], k: [1, 9, 1, 8], v: [1, 9, 1, 4] },
      { kernel: 3, layout: 'bshd' },
    );
    expect(r.dims).toEqual({ B: 1, Hq: 2, Hkv: 1, Y: 1, X: 9, D: 8, Dv: 4 });
    expect(r.options.layout).toBe('byxhd');
    expect(r.outputShape).toEqual([1, 9, 2, 4]);
    const s = validateNeighborhood(
      1,
      { q: [1, 2, 9, 8], k: [1, 1, 9, 8], v: [1, 1, 9, 4] },
      { kernel: 3, dilation: 2, causal: true },
    );
    expect(s.dims).toEqual({ B: 1, Hq: 2, Hkv: 1, Y: 1, X: 9, D: 8, Dv: 4 });
    expect(s.options).toEqual({
      kernel: [1, 3],
      dilation: [1, 2],
      causal: [false, true],
      scale: 1 / Math.sqrt(8),
      layout: 'bhyxd',
    });
    expect(s.outputShape).toEqual([1, 2, 9, 4]);
  });
});
