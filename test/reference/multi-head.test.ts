/**
 * reference.multiHeadAttention: a case worked by hand, agreement with a naive layer written here
 * with plain loops (no reference.sdpa), ONNX Runtime's Attention cases, packed vs separate weights,
 * GQA vs repeated heads, rotary invariances, and every AttentionError path of mha-validate.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttentionError } from '../../src/errors';
import { validateMhaConfig } from '../../src/contract/multi-head-config';
import { validateMhaForward } from '../../src/contract/multi-head-forward';
import type { TensorChecks } from '../../src/contract/multi-head-options';
import { reference } from '../../src/reference/index';
import type { ReferenceMhaConfig, ReferenceMhaOptions } from '../../src/reference/multi-head';
import type { HostTensor } from '../../src/contract/types';
import { rng } from '../cases';

const t = (data: number[] | Float64Array | Float32Array | Uint8Array, shape: number[]): HostTensor => ({ data, shape });
const { multiHeadAttention } = reference;

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]);
    expect(error, `element ${i}: ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(
      tol * (1 + Math.abs(expected[i])),
    );
  }
}

// ---------- by hand ----------

describe('reference.multiHeadAttention: worked by hand', () => {
  // E = 2, one head (headDim 2), B = 1, L = 2, tokens x0 = [1, 0], x1 = [0, 1]; scale ln 3.
  // Q = K = x (identity weights). Logits: row 0 [ln3·1, ln3·0], row 1 [0, ln3]
  //   → weights [[3/4, 1/4], [1/4, 3/4]].
  // V = x·Wvᵀ + bv with Wv = [[0, 4], [4, 0]], bv = [1, 0]: v0 = [0, 4] + [1, 0] = [1, 4], v1 = [5, 0].
  // attn0 = 3/4·[1, 4] + 1/4·[5, 0] = [2, 3];  attn1 = 1/4·[1, 4] + 3/4·[5, 0] = [4, 1].
  // y = attn·Woᵀ + bo with Wo = [[1, 1], [0, 1]], bo = [0, −1]: y0 = [2 + 3, 3 − 1] = [5, 2], y1 = [5, 0].
  const weights = {
    q: t([1, 0, 0, 1], [2, 2]),
    k: t([1, 0, 0, 1], [2, 2]),
    v: t([0, 4, 4, 0], [2, 2]),
    o: t([1, 1, 0, 1], [2, 2]),
    vBias: t([1, 0], [2]),
    oBias: t([0, -1], [2]),
  };
  const mha = multiHeadAttention({ embedDim: 2, numHeads: 1, weights });
  const x = t([1, 0, 0, 1], [1, 2, 2]);
  const scale = Math.log(3);

  it('output and attention weights', () => {
    const r = mha.forward(x, { scale, needWeights: true });
    expect(r.output.shape).toEqual([1, 2, 2]);
    expectClose(r.output.data, [5, 2, 5, 0]);
    expect(r.weights.shape).toEqual([1, 2, 2]);
    expectClose(r.weights.data, [0.75, 0.25, 0.25, 0.75]);
    const perHead = mha.forward(x, { scale, needWeights: true, averageHeads: false }).weights;
    expect(perHead.shape).toEqual([1, 1, 2, 2]);
    expectClose(perHead.data, [0.75, 0.25, 0.25, 0.75]);
  });

  it('causal: row 0 sees only v0 → y0 = [1 + 4, 4 − 1] = [5, 3]; row 1 unchanged', () => {
    expectClose(mha.forward(x, { scale, causal: true }).data, [5, 3, 5, 0]);
  });

  it('keyPaddingMask [[0, 1]] (key 1 is padding): both rows read v0 only → [5, 3]', () => {
    expectClose(mha.forward(x, { scale, keyPaddingMask: t(new Uint8Array([0, 1]), [1, 2]) }).data, [5, 3, 5, 3]);
  });

  it('key padding removes keys, also beside a float mask: a NaN token that is padding never reaches a row', () => {
    // Token 1 holds NaN: as padding it is never read, even with a float mask (an added −∞ would make NaN).
    const nanX = t([1, 0, NaN, 1], [1, 2, 2]);
    const pad = t(new Uint8Array([0, 1]), [1, 2]);
    const y = mha.forward(nanX, { scale, keyPaddingMask: pad, mask: t([0, 0.5, 0, 0.5], [2, 2]) }).data;
    expect(Number.isNaN(y[2])).toBe(true); // row 1 is the NaN query itself
    expectClose(y.slice(0, 2), [5, 3]);
  });

  it('packed inProj (rows q, k, v) gives the same numbers', () => {
    const packed = multiHeadAttention({
      embedDim: 2,
      numHeads: 1,
      weights: {
        inProj: t([1, 0, 0, 1, 1, 0, 0, 1, 0, 4, 4, 0], [6, 2]),
        inProjBias: t([0, 0, 0, 0, 1, 0], [6]),
        outProj: weights.o,
        outProjBias: weights.oBias,
      },
    });
    expectClose(packed.forward(x, { scale }).data, [5, 2, 5, 0]);
  });

  // E = 4, one head, identity q/k, rotary over all 4 dims with base 4/π², so pair i = 1 turns by
  // pos·base^(−1/2) = pos·π/2 and pair i = 0 by pos radians. Both tokens are [0, 1, 0, 0].
  // Without rotary q0·k1 = 1: logits [ln3, ln3] → weights [1/2, 1/2].
  // NeoX: dim 1 pairs with dim 3 (i = 1): at pos 1 the token becomes [0, 0, 0, 1], orthogonal to
  //   token 0: row 0 logits [ln3, 0] → [3/4, 1/4]; row 1 [0, ln3] → [1/4, 3/4].
  // GPT-J: dim 1 pairs with dim 0 (i = 0): at pos 1 the token becomes [−sin 1, cos 1, 0, 0]:
  //   q0·k1 = cos 1, so row 0 weights [3, 3^cos1]/(3 + 3^cos1).
  const eye4 = t([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], [4, 4]);
  const rotaryLayer = (rotary?: ReferenceMhaConfig['rotary']) =>
    multiHeadAttention({ embedDim: 4, numHeads: 1, weights: { q: eye4, k: eye4, v: eye4, o: eye4 }, rotary });
  const twins = t([0, 1, 0, 0, 0, 1, 0, 0], [1, 2, 4]);
  const base = 4 / Math.PI ** 2;

  it('rotary NeoX (half-split) and GPT-J (interleaved) pairs, by their attention weights', () => {
    const w = (rotary?: ReferenceMhaConfig['rotary']) =>
      rotaryLayer(rotary).forward(twins, { scale, needWeights: true }).weights.data;
    expectClose(w(), [0.5, 0.5, 0.5, 0.5]);
    expectClose(w({ base }), [0.75, 0.25, 0.25, 0.75], 1e-12);
    const c = 3 ** Math.cos(1);
    expectClose(w({ base, interleaved: true }), [3 / (3 + c), c / (3 + c), c / (3 + c), 3 / (3 + c)], 1e-12);
  });
});

// ---------- the naive layer ----------

type Mat = number[][];
interface NaiveRotary {
  base: number;
  dim: number;
  interleaved: boolean;
  offset: number;
}
interface NaiveLayer {
  H: number;
  Hkv: number;
  hd: number;
  Wq: Mat;
  Wk: Mat;
  Wv: Mat;
  Wo: Mat;
  bq?: number[];
  bk?: number[];
  bv?: number[];
  bo?: number[];
  rotary?: NaiveRotary;
}
interface NaiveCall {
  x: Mat[];
  key: Mat[];
  value: Mat[];
  causal: boolean;
  lowerRight: boolean;
  scale?: number;
  /** pad[b][j] = 1: key j of batch b is padding. */
  pad?: number[][];
  /** Additive mask term of (b, h, i, j): 0, a float, or −Infinity. */
  mask?: (b: number, h: number, i: number, j: number) => number;
}

const matvec = (W: Mat, x: number[], bias?: number[]) =>
  W.map((row, n) => row.reduce((s, w, c) => s + w * x[c], bias ? bias[n] : 0));

function rope(vec: number[], pos: number, r: NaiveRotary): number[] {
  const out = vec.slice();
  for (let i = 0; i < r.dim / 2; i++) {
    const theta = pos / Math.pow(r.base, (2 * i) / r.dim);
    const [a, b] = r.interleaved ? [2 * i, 2 * i + 1] : [i, i + r.dim / 2];
    out[a] = vec[a] * Math.cos(theta) - vec[b] * Math.sin(theta);
    out[b] = vec[b] * Math.cos(theta) + vec[a] * Math.sin(theta);
  }
  return out;
}

/** Projects a token and cuts it into heads, each rotated by its position. */
function headsOf(
  layer: NaiveLayer,
  W: Mat,
  bias: number[] | undefined,
  token: number[],
  n: number,
  pos: number,
  rotate: boolean,
): number[][] {
  const flat = matvec(W, token, bias);
  return Array.from({ length: n }, (_, h) => {
    const head = flat.slice(h * layer.hd, (h + 1) * layer.hd);
    return rotate && layer.rotary ? rope(head, pos + layer.rotary.offset, layer.rotary) : head;
  });
}

/** The layer as the spec reads, one query row at a time: { out [B][L][E], weights [B][H][L][Lk] }. */
function naiveMha(layer: NaiveLayer, call: NaiveCall): { out: Mat[]; weights: Mat[][] } {
  const { H, Hkv, hd } = layer;
  const scale = call.scale ?? 1 / Math.sqrt(hd);
  const out: Mat[] = [];
  const weights: Mat[][] = [];
  call.x.forEach((tokens, b) => {
    const Lk = call.key[b].length;
    const ks = call.key[b].map((tok, j) => headsOf(layer, layer.Wk, layer.bk, tok, Hkv, j, true));
    const vs = call.value[b].map((tok) => headsOf(layer, layer.Wv, layer.bv, tok, Hkv, 0, false));
    const shift = call.lowerRight ? Lk - tokens.length : 0;
    weights.push(Array.from({ length: H }, () => []));
    out.push(
      tokens.map((tok, i) => {
        const qs = headsOf(layer, layer.Wq, layer.bq, tok, H, i, true);
        const concat: number[] = [];
        for (let h = 0; h < H; h++) {
          const g = Math.floor((h * Hkv) / H);
          const logits = ks.map((k, j) => {
            if (call.pad?.[b][j] || (call.causal && j > i + shift)) return -Infinity;
            const dot = qs[h].reduce((s, q, d) => s + q * k[g][d], 0);
            return scale * dot + (call.mask ? call.mask(b, h, i, j) : 0);
          });
          const max = Math.max(...logits);
          const e = logits.map((l) => (max === -Infinity ? 0 : Math.exp(l - max)));
          const sum = e.reduce((s, a) => s + a, 0);
          const p = e.map((a) => (sum === 0 ? 0 : a / sum));
          weights[b][h].push(p);
          for (let d = 0; d < hd; d++) concat.push(p.reduce((s, pj, j) => s + pj * vs[j][g][d], 0));
        }
        return matvec(layer.Wo, concat, layer.bo);
      }),
    );
  });
  return { out, weights };
}

// ---------- building a problem for both ----------

interface Spec {
  E: number;
  H: number;
  Hkv: number;
  headDim?: number;
  B: number;
  L: number;
  seed: string;
  cross?: { kdim: number; vdim: number; Lk: number };
  bias?: boolean;
  rotary?: { base?: number; dim?: number; interleaved?: boolean; offset?: number };
  causal?: boolean;
  lowerRight?: boolean;
  pad?: boolean;
  scale?: number;
  mask?: 'bool' | 'float' | 'bool-per-head';
  needWeights?: 'average' | 'per-head';
}

const flat = (m: Mat | Mat[]): number[] => (m as unknown[]).flat(2) as number[];

function build(s: Spec) {
  const next = rng(s.seed);
  const rand = (n: number, amp = 1) => Array.from({ length: n }, () => (next() * 2 - 1) * amp);
  const mat = (rows: number, cols: number): Mat => Array.from({ length: rows }, () => rand(cols, 1 / Math.sqrt(cols)));
  const seqs = (n: number, width: number): Mat[] =>
    Array.from({ length: s.B }, () => Array.from({ length: n }, () => rand(width)));
  const hd = s.headDim ?? s.E / s.H;
  const [kdim, vdim, Lk] = s.cross ? [s.cross.kdim, s.cross.vdim, s.cross.Lk] : [s.E, s.E, s.L];
  const layer: NaiveLayer = {
    H: s.H,
    Hkv: s.Hkv,
    hd,
    Wq: mat(s.H * hd, s.E),
    Wk: mat(s.Hkv * hd, kdim),
    Wv: mat(s.Hkv * hd, vdim),
    Wo: mat(s.E, s.H * hd),
  };
  if (s.bias) Object.assign(layer, { bq: rand(s.H * hd), bk: rand(s.Hkv * hd), bv: rand(s.Hkv * hd), bo: rand(s.E) });
  if (s.rotary)
    layer.rotary = {
      base: s.rotary.base ?? 10000,
      dim: s.rotary.dim ?? hd,
      interleaved: s.rotary.interleaved ?? false,
      offset: s.rotary.offset ?? 0,
    };
  const x = seqs(s.L, s.E);
  const call: NaiveCall = {
    x,
    key: s.cross ? seqs(Lk, kdim) : x,
    value: s.cross ? seqs(Lk, vdim) : x,
    causal: !!s.causal,
    lowerRight: !!s.lowerRight,
    scale: s.scale,
  };
  const T = (m: Mat | Mat[], shape: number[]) => t(Float64Array.from(flat(m)), shape);
  const weights: ReferenceMhaConfig['weights'] = {
    q: T(layer.Wq, [s.H * hd, s.E]),
    k: T(layer.Wk, [s.Hkv * hd, kdim]),
    v: T(layer.Wv, [s.Hkv * hd, vdim]),
    o: T(layer.Wo, [s.E, s.H * hd]),
    ...(s.bias
      ? {
          qBias: t(layer.bq!, [s.H * hd]),
          kBias: t(layer.bk!, [s.Hkv * hd]),
          vBias: t(layer.bv!, [s.Hkv * hd]),
          oBias: t(layer.bo!, [s.E]),
        }
      : {}),
  };
  const rotary = s.rotary && {
    base: layer.rotary!.base,
    dim: s.rotary.dim,
    interleaved: s.rotary.interleaved,
    positionOffset: s.rotary.offset,
  };
  const config: ReferenceMhaConfig = {
    embedDim: s.E,
    numHeads: s.H,
    numKvHeads: s.Hkv,
    headDim: s.headDim,
    kdim: s.cross?.kdim,
    vdim: s.cross?.vdim,
    weights,
    rotary,
  };
  const options: ReferenceMhaOptions = {
    causal: s.causal,
    alignment: s.lowerRight ? 'lower-right' : undefined,
    scale: s.scale,
    needWeights: s.needWeights !== undefined,
    averageHeads: s.needWeights === 'average' ? undefined : false,
  };
  if (s.cross) Object.assign(options, { key: T(call.key, [s.B, Lk, kdim]), value: T(call.value, [s.B, Lk, vdim]) });
  if (s.pad) {
    call.pad = Array.from({ length: s.B }, (_, b) =>
      Array.from({ length: Lk }, (_, j) => (b === 1 ? 1 : Number(next() < 0.35 && j > 0))),
    );
    options.keyPaddingMask = t(Uint8Array.from(flat(call.pad)), [s.B, Lk]); // batch 1 (if any) is all padding
  }
  if (s.mask) Object.assign(options, { mask: userMask(s, Lk, next, call) });
  return { layer, call, config, x: T(x, [s.B, s.L, s.E]), options };
}

/** A user mask for the spec (and the same term for the naive layer). */
function userMask(s: Spec, Lk: number, next: () => number, call: NaiveCall): HostTensor {
  const perHead = s.mask === 'bool-per-head';
  const shape = s.mask === 'bool' ? [s.L, Lk] : s.mask === 'float' ? [s.B, 1, s.L, Lk] : [s.B, s.H, s.L, Lk];
  const n = shape.reduce((a, b) => a * b, 1);
  const at = (b: number, h: number, i: number, j: number) =>
    s.mask === 'bool' ? i * Lk + j : s.mask === 'float' ? (b * s.L + i) * Lk + j : ((b * s.H + h) * s.L + i) * Lk + j;
  if (s.mask === 'float') {
    const data = Array.from({ length: n }, () => (next() < 0.2 ? -Infinity : next() * 2 - 1));
    call.mask = (b, h, i, j) => data[at(b, h, i, j)];
    return t(data, shape);
  }
  const data = Uint8Array.from({ length: n }, () => (next() < 0.75 ? 1 : 0));
  call.mask = (b, h, i, j) => (data[at(b, perHead ? h : 0, i, j)] ? 0 : -Infinity);
  return t(data, shape);
}

function checkAgainstNaive(s: Spec): void {
  const { layer, call, config, x, options } = build(s);
  const naive = naiveMha(layer, call);
  const r = multiHeadAttention(config).forward(x, options);
  const output = 'output' in r ? r.output : r;
  expect(output.shape).toEqual([s.B, s.L, s.E]);
  expectClose(output.data, flat(naive.out), 1e-10);
  expect('weights' in r).toBe(s.needWeights !== undefined);
  if (!('weights' in r)) return;
  const Lk = s.cross?.Lk ?? s.L;
  if (s.needWeights === 'per-head') {
    expect(r.weights.shape).toEqual([s.B, s.H, s.L, Lk]);
    expectClose(r.weights.data, flat(naive.weights.flat()), 1e-10);
  } else {
    expect(r.weights.shape).toEqual([s.B, s.L, Lk]);
    const mean = naive.weights.map((heads) =>
      heads[0].map((row, i) => row.map((_, j) => heads.reduce((a, w) => a + w[i][j], 0) / s.H)),
    );
    expectClose(r.weights.data, flat(mean), 1e-10);
  }
}

// ---------- agreement with the naive layer ----------

const COMBOS: [number, number, number][] = [];
for (const E of [8, 64, 96])
  for (const H of [1, 2, 8, 12])
    for (const Hkv of [1, 2, H]) {
      if (E % H === 0 && H % Hkv === 0 && !COMBOS.some(([e, h, k]) => e === E && h === H && k === Hkv))
        COMBOS.push([E, H, Hkv]);
    }

/** Option bundles; rotary needs headDim ≥ 2 and a partial dim needs headDim ≥ 4. */
const VARIANTS: { name: (hd: number) => string; spec: (hd: number) => Partial<Spec> }[] = [
  { name: () => 'self, biases, weights averaged', spec: () => ({ bias: true, needWeights: 'average' }) },
  {
    name: (hd) => `cross kdim 5 vdim 7 Lk 6, ${hd >= 2 ? 'NeoX rotary, ' : ''}padding, weights per head`,
    spec: (hd) => ({
      cross: { kdim: 5, vdim: 7, Lk: 6 },
      rotary: hd >= 2 ? {} : undefined,
      pad: true,
      needWeights: 'per-head',
    }),
  },
  {
    name: (hd) => `self, ${hd >= 2 ? 'GPT-J rotary offset 3, ' : ''}causal, biases`,
    spec: (hd) => ({ rotary: hd >= 2 ? { interleaved: true, offset: 3 } : undefined, causal: true, bias: true }),
  },
  {
    name: (hd) =>
      `cross Lk 3, ${hd >= 4 ? `NeoX rotary dim ${2 * Math.floor(hd / 4)} offset 5, ` : ''}causal lower-right, padding`,
    spec: (hd) => ({
      cross: { kdim: 8, vdim: 3, Lk: 3 },
      rotary: hd >= 4 ? { dim: 2 * Math.floor(hd / 4), offset: 5 } : undefined,
      causal: true,
      lowerRight: true,
      pad: true,
    }),
  },
  {
    name: (hd) =>
      `self, ${hd >= 4 ? 'GPT-J rotary dim 2 base 100, ' : ''}padding + boolean mask per head, weights per head`,
    spec: (hd) => ({
      rotary: hd >= 4 ? { dim: 2, base: 100, interleaved: true } : undefined,
      pad: true,
      mask: 'bool-per-head',
      needWeights: 'per-head',
    }),
  },
  {
    name: () => 'self, float mask + padding, scale 0.3, weights averaged',
    spec: () => ({ mask: 'float', pad: true, scale: 0.3, needWeights: 'average' }),
  },
  { name: () => 'self, boolean [L, Lk] mask, causal', spec: () => ({ mask: 'bool', causal: true, bias: true }) },
];

describe('reference.multiHeadAttention agrees with a naive layer', () => {
  for (const [E, H, Hkv] of COMBOS) {
    for (const variant of VARIANTS) {
      const name = `E=${E} heads=${H} kv=${Hkv}: ${variant.name(E / H)}`;
      it(name, () => checkAgainstNaive({ E, H, Hkv, B: 2, L: 4, seed: name, ...variant.spec(E / H) }));
    }
  }

  it('explicit headDim (E=8, 2 heads of 3, kv 1) with GPT-J rotary dim 2 and cross-attention', () => {
    checkAgainstNaive({
      E: 8,
      H: 2,
      Hkv: 1,
      headDim: 3,
      B: 2,
      L: 3,
      seed: 'hd3',
      cross: { kdim: 4, vdim: 6, Lk: 5 },
      rotary: { dim: 2, interleaved: true },
      bias: true,
      needWeights: 'per-head',
    });
  });

  it('random small layers (fast-check)', () => {
    const arb = fc.record({
      Hkv: fc.integer({ min: 1, max: 3 }),
      group: fc.integer({ min: 1, max: 3 }),
      hd: fc.integer({ min: 1, max: 6 }),
      extraE: fc.option(fc.integer({ min: 1, max: 9 })),
      B: fc.integer({ min: 1, max: 2 }),
      L: fc.integer({ min: 1, max: 4 }),
      cross: fc.option(
        fc.record({
          kdim: fc.integer({ min: 1, max: 6 }),
          vdim: fc.integer({ min: 1, max: 6 }),
          Lk: fc.integer({ min: 1, max: 5 }),
        }),
      ),
      bias: fc.boolean(),
      rotary: fc.option(
        fc.record({
          half: fc.integer({ min: 1, max: 3 }),
          interleaved: fc.boolean(),
          offset: fc.integer({ min: 0, max: 20 }),
          base: fc.constantFrom(10000, 500, 10),
        }),
      ),
      causal: fc.boolean(),
      lowerRight: fc.boolean(),
      pad: fc.boolean(),
      mask: fc.constantFrom(undefined, 'bool', 'float', 'bool-per-head'),
      needWeights: fc.constantFrom(undefined, 'average', 'per-head'),
      seed: fc.integer(),
    });
    fc.assert(
      fc.property(arb, (p) => {
        const H = p.Hkv * p.group;
        const rotary =
          p.rotary && 2 * p.rotary.half <= p.hd
            ? {
                dim: 2 * p.rotary.half,
                interleaved: p.rotary.interleaved,
                offset: p.rotary.offset,
                base: p.rotary.base,
              }
            : undefined;
        const E = p.extraE ?? H * p.hd;
        checkAgainstNaive({
          E,
          H,
          Hkv: p.Hkv,
          headDim: p.extraE === null ? undefined : p.hd,
          B: p.B,
          L: p.L,
          seed: `fc${p.seed}`,
          cross: p.cross ?? undefined,
          bias: p.bias,
          rotary,
          causal: p.causal,
          lowerRight: p.lowerRight,
          pad: p.pad,
          mask: p.mask as Spec['mask'],
          needWeights: p.needWeights as Spec['needWeights'],
        });
      }),
      { numRuns: 200 },
    );
  });
});

// ---------- equivalences ----------

/** Rows [from, to) of a [rows, cols] tensor, per group, as plain numbers. */
const rowsOf = (x: HostTensor | undefined, from: number, to: number): number[] => {
  if (!x) return [];
  const cols = x.shape.length === 2 ? x.shape[1] : 1;
  return Array.from(x.data as ArrayLike<number>).slice(from * cols, to * cols);
};

describe('reference.multiHeadAttention: equivalences', () => {
  const spec: Spec = {
    E: 12,
    H: 6,
    Hkv: 2,
    B: 2,
    L: 5,
    seed: 'equiv',
    bias: true,
    rotary: { dim: 2, offset: 4 },
    pad: true,
    causal: true,
  };

  it('packed inProj/outProj equals separate q/k/v/o (self and cross, GQA, rotary, padding)', () => {
    const { config, x, options } = build(spec);
    const w = config.weights as Required<Extract<ReferenceMhaConfig['weights'], { q: HostTensor }>>;
    const cat = (...xs: HostTensor[]) =>
      t(
        [...xs.flatMap((a) => Array.from(a.data as ArrayLike<number>))],
        [xs.reduce((n, a) => n + a.shape[0], 0), ...a1(xs[0])],
      );
    const a1 = (a: HostTensor) => a.shape.slice(1);
    const packed = multiHeadAttention({
      ...config,
      weights: {
        inProj: cat(w.q, w.k, w.v),
        inProjBias: cat(w.qBias, w.kBias, w.vBias),
        outProj: w.o,
        outProjBias: w.oBias,
      },
    });
    const separate = multiHeadAttention(config);
    expect(packed.config.packed).toBe(true);
    const full = { ...options, needWeights: true, averageHeads: false } as const;
    const a = packed.forward(x, full);
    const b = separate.forward(x, full);
    expectClose(a.output.data, b.output.data, 0);
    expectClose(a.weights.data, b.weights.data, 0);
    const cross = { key: build({ ...spec, L: 3, seed: 'kv' }).x, value: build({ ...spec, L: 3, seed: 'vv' }).x };
    expectClose(
      packed.forward(x, { ...options, ...cross, keyPaddingMask: undefined, needWeights: false }).data,
      separate.forward(x, { ...options, ...cross, keyPaddingMask: undefined, needWeights: false }).data,
      0,
    );
  });

  it('GQA equals MHA with each K/V head (weights and bias rows) repeated', () => {
    const { config, x, options } = build(spec);
    const w = config.weights as Required<Extract<ReferenceMhaConfig['weights'], { q: HostTensor }>>;
    const hd = spec.E / spec.H;
    const group = spec.H / spec.Hkv;
    const repeat = (m: HostTensor) => {
      const out: number[] = [];
      for (let h = 0; h < spec.H; h++)
        out.push(...rowsOf(m, Math.floor(h / group) * hd, (Math.floor(h / group) + 1) * hd));
      return t(out, [spec.H * hd, ...m.shape.slice(1)]);
    };
    const mha = multiHeadAttention({
      ...config,
      numKvHeads: spec.H,
      weights: { ...w, k: repeat(w.k), v: repeat(w.v), kBias: repeat(w.kBias), vBias: repeat(w.vBias) },
    });
    const gqa = multiHeadAttention(config).forward(x, { ...options, needWeights: true, averageHeads: false });
    const full = mha.forward(x, { ...options, needWeights: true, averageHeads: false });
    expectClose(full.output.data, gqa.output.data, 1e-13);
    expectClose(full.weights.data, gqa.weights.data, 1e-13);
  });

  // positionOffset shifts queries and keys alike, and a rotated q·k depends only on their distance,
  // so the offset cancels (up to rounding) in self- and cross-attention; rotary itself does not.
  it('rotary scores depend on relative positions only: positionOffset leaves the output unchanged', () => {
    for (const interleaved of [false, true]) {
      const base = build({ ...spec, rotary: { interleaved, offset: 0 } });
      const moved = build({ ...spec, rotary: { interleaved, offset: 1000 } });
      const y0 = multiHeadAttention(base.config).forward(base.x, { ...base.options, needWeights: false }).data;
      const y1 = multiHeadAttention(moved.config).forward(moved.x, { ...moved.options, needWeights: false }).data;
      expectClose(y1, y0, 1e-9);
      const cross = {
        key: build({ ...spec, L: 3, seed: 'kv' }).x,
        value: build({ ...spec, L: 3, seed: 'vv' }).x,
        keyPaddingMask: undefined,
      };
      const c0 = multiHeadAttention(base.config).forward(base.x, {
        ...base.options,
        ...cross,
        needWeights: false,
      }).data;
      const c1 = multiHeadAttention(moved.config).forward(moved.x, {
        ...moved.options,
        ...cross,
        needWeights: false,
      }).data;
      expectClose(c1, c0, 1e-9);
      const rotated = multiHeadAttention(base.config).forward(base.x).data;
      const plain = multiHeadAttention({ ...base.config, rotary: undefined }).forward(base.x).data;
      expect(Math.max(...rotated.map((v, i) => Math.abs(v - plain[i])))).toBeGreaterThan(1e-3);
    }
  });

  it('keyPaddingMask equals the boolean mask [B, 1, 1, Lk] that allows the other keys; both combine with a float mask', () => {
    const { config, x, options } = build({ ...spec, rotary: undefined, causal: false });
    const mha = multiHeadAttention(config);
    const pad = options.keyPaddingMask!;
    const allow = t(
      Uint8Array.from(pad.data as Uint8Array, (p) => 1 - p),
      [spec.B, 1, 1, spec.L],
    );
    expectClose(mha.forward(x, { keyPaddingMask: pad }).data, mha.forward(x, { mask: allow }).data, 0);
    const float = t(
      Float64Array.from({ length: spec.L * spec.L }, (_, e) => (e % 3) - 1),
      [spec.L, spec.L],
    );
    const floatAndAllow = t(
      Float64Array.from({ length: spec.B * spec.L * spec.L }, (_, e) => {
        const [b, j] = [Math.floor(e / (spec.L * spec.L)), e % spec.L];
        return pad.data[b * spec.L + j] ? -Infinity : (float.data[e % (spec.L * spec.L)] as number);
      }),
      [spec.B, 1, spec.L, spec.L],
    );
    expectClose(
      mha.forward(x, { mask: float, keyPaddingMask: pad }).data,
      mha.forward(x, { mask: floatAndAllow }).data,
      0,
    );
  });

  it('window is passed to sdpa: { left: 1, right: 0 } equals a boolean band mask', () => {
    const { config, x, options } = build({ ...spec, causal: false });
    const mha = multiHeadAttention(config);
    const band = t(
      Uint8Array.from({ length: spec.L * spec.L }, (_, e) =>
        Number(e % spec.L <= Math.floor(e / spec.L) && e % spec.L >= Math.floor(e / spec.L) - 1),
      ),
      [spec.L, spec.L],
    );
    const pad = options.keyPaddingMask;
    expectClose(
      mha.forward(x, { window: { left: 1, right: 0 }, keyPaddingMask: pad }).data,
      mha.forward(x, { mask: band, keyPaddingMask: pad }).data,
      0,
    );
  });

  it('a batch whose keys are all padding outputs the output bias (attention rows of zeros)', () => {
    const { config, x, options } = build({ ...spec, causal: false });
    const r = multiHeadAttention(config).forward(x, { keyPaddingMask: options.keyPaddingMask, needWeights: true });
    const oBias = Array.from((config.weights as { oBias: HostTensor }).oBias.data as ArrayLike<number>);
    const batch1 = r.output.data.slice(spec.L * spec.E);
    expectClose(batch1, Array.from({ length: spec.L }, () => oBias).flat(), 0);
    expect(r.weights.data.slice(spec.L * spec.L).every((w) => w === 0)).toBe(true);
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
    expect((e as Error).message.startsWith(`${argument}: got `)).toBe(true);
    if (pattern) expect((e as Error).message).toMatch(pattern);
  }
}

describe('reference.multiHeadAttention: AttentionError paths', () => {
  // E = 8, 4 heads of 2, 2 kv heads: q [8, 8], k and v [4, 8], o [8, 8]; packed inProj [16, 8].
  const zeros = (...shape: number[]) => t(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  const sep = { q: zeros(8, 8), k: zeros(4, 8), v: zeros(4, 8), o: zeros(8, 8) };
  const packed = { inProj: zeros(16, 8), outProj: zeros(8, 8) };
  const base = { embedDim: 8, numHeads: 4, numKvHeads: 2, weights: sep };
  const make = (over: Record<string, unknown>) => () => multiHeadAttention({ ...base, ...over } as ReferenceMhaConfig);
  const mha = multiHeadAttention(base);
  const x = zeros(2, 3, 8);
  const fwd =
    (options?: unknown, input: unknown = x) =>
    () =>
      mha.forward(input as HostTensor, options as ReferenceMhaOptions);

  it('accepts the valid configs and calls', () => {
    expect(mha.forward(x).shape).toEqual([2, 3, 8]);
    expect(multiHeadAttention({ ...base, weights: packed }).forward(x).shape).toEqual([2, 3, 8]);
    expect(
      mha.forward(x, { key: zeros(2, 5, 8), value: zeros(2, 5, 8), keyPaddingMask: t(new Uint8Array(10), [2, 5]) })
        .shape,
    ).toEqual([2, 3, 8]);
  });

  it('config sizes', () => {
    expectError(
      () => multiHeadAttention(null as unknown as ReferenceMhaConfig),
      'config',
      /got null; expected an object/,
    );
    expectError(make({ embedDim: 0 }), 'config.embedDim', /got 0; expected a positive integer/);
    expectError(make({ embedDim: 8.5 }), 'config.embedDim');
    expectError(make({ numHeads: '4' }), 'config.numHeads', /got '4'/);
    expectError(
      make({ embedDim: 10, numKvHeads: 1 }),
      'config.embedDim',
      /got 10 with 4 heads; expected a multiple of numHeads 4, or an explicit config.headDim/,
    );
    expectError(make({ numKvHeads: 3 }), 'config.numKvHeads', /got 3 \(numHeads 4\); expected a divisor of numHeads 4/);
    expectError(make({ numKvHeads: 0 }), 'config.numKvHeads', /positive integer/);
    expectError(make({ headDim: -2 }), 'config.headDim');
    expectError(make({ kdim: 0 }), 'config.kdim');
    expectError(make({ vdim: 2.5 }), 'config.vdim');
    expectError(
      make({ numKVHeads: 2 }),
      'config.numKVHeads',
      /got an unknown key; expected one of embedDim, numHeads, numKvHeads/,
    );
  });

  it('rotary', () => {
    expectError(make({ rotary: 1 }), 'config.rotary', /expected an object/);
    expectError(make({ rotary: { dim: 1 } }), 'config.rotary.dim', /got 1; expected an even number ≤ headDim 2/);
    expectError(make({ rotary: { dim: 4 } }), 'config.rotary.dim', /got 4; expected an even number ≤ headDim 2/);
    expectError(make({ headDim: 3, rotary: {} }), 'config.rotary.dim', /got 3; expected an even number ≤ headDim 3/);
    expectError(make({ rotary: { dim: 0 } }), 'config.rotary.dim', /positive integer/);
    expectError(make({ rotary: { base: 0 } }), 'config.rotary.base', /finite number > 0/);
    expectError(make({ rotary: { base: Infinity } }), 'config.rotary.base');
    expectError(make({ rotary: { interleaved: 'gptj' } }), 'config.rotary.interleaved', /true or false/);
    expectError(make({ rotary: { positionOffset: -1 } }), 'config.rotary.positionOffset', /integer ≥ 0/);
    expectError(make({ rotary: { theta: 1e4 } }), 'config.rotary.theta', /unknown key/);
  });

  it('weights: count and form', () => {
    expectError(make({ weights: undefined }), 'weights', /got undefined; expected an object/);
    expectError(
      make({ weights: { ...sep, inProj: packed.inProj } }),
      'weights',
      /keys q, k, v, o, inProj; expected one form/,
    );
    expectError(
      make({ weights: { q: sep.q, k: sep.k, v: sep.v } }),
      'weights.o',
      /got undefined; expected a tensor \[8, 8\]/,
    );
    expectError(make({ weights: { inProj: packed.inProj } }), 'weights.outProj', /got undefined/);
    expectError(
      make({ weights: { ...sep, bias: zeros(8) } }),
      'weights.bias',
      /unknown key; expected one of q, k, v, o, qBias/,
    );
    expectError(make({ weights: { ...packed, outProjWeight: zeros(8, 8) } }), 'weights.outProjWeight');
  });

  it('weights: shapes', () => {
    expectError(
      make({ weights: { ...sep, q: zeros(8, 4) } }),
      'weights.q',
      /got shape \[8, 4\]; expected \[8, 8\] \(\[numHeads·headDim, embedDim\]\)/,
    );
    expectError(make({ weights: { ...sep, k: zeros(8, 8) } }), 'weights.k', /got shape \[8, 8\]; expected \[4, 8\]/);
    expectError(make({ weights: { ...sep, v: zeros(32) } }), 'weights.v', /got shape \[32\]/);
    expectError(
      make({ weights: { ...sep, o: zeros(8, 4) } }),
      'weights.o',
      /expected \[8, 8\] \(\[embedDim, numHeads·headDim\]\)/,
    );
    expectError(make({ weights: { ...sep, kBias: zeros(8) } }), 'weights.kBias', /got shape \[8\]; expected \[4\]/);
    expectError(
      make({ weights: { ...sep, q: t(new Float32Array(3), [8, 8]) } }),
      'weights.q.data',
      /got 3 elements; expected 64/,
    );
    expectError(
      make({ weights: { ...sep, q: t(new Uint8Array(64), [8, 8]) } }),
      'weights.q',
      /got a boolean tensor; expected a float tensor/,
    );
    expectError(make({ weights: { ...sep, q: [1, 2] } }), 'weights.q', /expected a host tensor/);
    expectError(
      make({ weights: { ...packed, inProj: zeros(24, 8) } }),
      'weights.inProj',
      /got shape \[24, 8\]; expected \[16, 8\]/,
    );
    expectError(make({ weights: { ...packed, inProjBias: zeros(24) } }), 'weights.inProjBias', /expected \[16\]/);
    expectError(make({ weights: { ...packed, outProj: zeros(8, 16) } }), 'weights.outProj');
    expectError(
      make({ kdim: 6, weights: packed }),
      'weights.inProj',
      /packed form with kdim 6, vdim 8; expected separate weights/,
    );
    expectError(make({ vdim: 6, weights: packed }), 'weights.inProj');
  });

  it('x: a float tensor [B, L, embedDim]', () => {
    expectError(fwd(undefined, zeros(2, 3, 6)), 'x', /got width 6 \(shape \[2, 3, 6\]\); expected width embedDim = 8/);
    expectError(
      fwd(undefined, zeros(3, 8)),
      'x',
      /got shape \[3, 8\]; expected 3 positive integers \[B, L, embedDim\]/,
    );
    expectError(fwd(undefined, zeros(1, 2, 3, 8)), 'x');
    expectError(fwd(undefined, t(new Uint8Array(48), [2, 3, 8])), 'x', /boolean tensor/);
    expectError(fwd(undefined, t(new Float32Array(47), [2, 3, 8])), 'x.data', /got 47 elements; expected 48/);
    expectError(fwd(undefined, 'x'), 'x', /expected a host tensor/);
  });

  it('options: key, value', () => {
    expectError(fwd(7), 'options', /got 7; expected an object or undefined/);
    expectError(fwd({ layout: 'bshd' }), 'options.layout', /unknown key; expected one of key, value, causal/);
    expectError(fwd({ key: zeros(2, 5, 8) }), 'options.value', /undefined with options.key given/);
    expectError(fwd({ value: zeros(2, 5, 8) }), 'options.key', /undefined with options.value given/);
    expectError(
      fwd({ key: zeros(1, 5, 8), value: zeros(2, 5, 8) }),
      'options.key',
      /got batch 1 .*expected batch 2, as the query/,
    );
    expectError(fwd({ key: zeros(2, 5, 8), value: zeros(1, 5, 8) }), 'options.value', /got batch 1/);
    expectError(
      fwd({ key: zeros(2, 5, 8), value: zeros(2, 4, 8) }),
      'options.value',
      /got 4 keys .*expected 5 keys, as options.key/,
    );
    expectError(fwd({ key: zeros(2, 5, 7), value: zeros(2, 5, 8) }), 'options.key', /width kdim = 8/);
    expectError(
      fwd({ key: zeros(2, 5, 8), value: zeros(2, 5) }),
      'options.value',
      /3 positive integers \[B, L, vdim\]/,
    );
    const cross = multiHeadAttention({ ...base, kdim: 6, weights: { ...sep, k: zeros(4, 6) } });
    expectError(
      () => cross.forward(x),
      'options.key',
      /undefined \(self-attention\); expected key \[B, Lk, 6\] and value \[B, Lk, 8\]/,
    );
  });

  it('options: masks and flags', () => {
    expectError(
      fwd({ keyPaddingMask: t(new Uint8Array(8), [2, 4]) }),
      'options.keyPaddingMask',
      /got shape \[2, 4\]; expected booleans \[B, Lk\] = \[2, 3\], 1 = padding/,
    );
    expectError(fwd({ keyPaddingMask: t(new Uint8Array(6), [2, 1, 3]) }), 'options.keyPaddingMask');
    expectError(
      fwd({ keyPaddingMask: zeros(2, 3) }),
      'options.keyPaddingMask',
      /got a float tensor; expected booleans/,
    );
    expectError(fwd({ keyPaddingMask: t(new Uint8Array(5), [2, 3]) }), 'options.keyPaddingMask.data');
    expectError(fwd({ mask: zeros(3, 4) }), 'options.mask', /dim 4 against 3/);
    expectError(fwd({ mask: zeros(2, 3, 3) }), 'options.mask', /dim 2 against 4/);
    expectError(fwd({ mask: 'causal' }), 'options.mask', /host tensor/);
    expectError(fwd({ scale: 0 }), 'options.scale', /finite number > 0/);
    expectError(fwd({ causal: 1 }), 'options.causal', /true or false/);
    expectError(fwd({ alignment: 'center' }), 'options.alignment');
    expectError(fwd({ needWeights: 'yes' }), 'options.needWeights', /true or false/);
    expectError(fwd({ averageHeads: 0 }), 'options.averageHeads', /true or false/);
    expectError(fwd({ window: { left: -2, right: 0 } }), 'options.window.left');
  });

  it('full messages', () => {
    expect(make({ numKvHeads: 3 })).toThrowErrorMatchingInlineSnapshot(
      `[AttentionError: config.numKvHeads: got 3 (numHeads 4); expected a divisor of numHeads 4 (grouped-query attention)]`,
    );
    expect(fwd({ keyPaddingMask: zeros(2, 3) })).toThrowErrorMatchingInlineSnapshot(
      `[AttentionError: options.keyPaddingMask: got a float tensor; expected booleans [B, Lk] = [2, 3], 1 = padding (a Uint8Array host tensor or a GpuMask)]`,
    );
  });
});

describe('mha-validate (shared with the GPU layer)', () => {
  // A tensor kind with shapes only: the module needs nothing else from a tensor.
  interface Fake {
    shape: number[];
    bool?: boolean;
  }
  const checks: TensorChecks<Fake> = {
    tensor: (argument, value) => {
      if (typeof value !== 'object' || value === null || !('shape' in value))
        throw new AttentionError(argument, 'not a fake', 'a fake');
      return value as Fake;
    },
    isBool: (f) => !!f.bool,
    contents: () => {},
  };
  const f = (...shape: number[]): Fake => ({ shape });

  it('resolves a packed config into row ranges of one tensor', () => {
    const inProj = f(16, 8);
    const c = validateMhaConfig(
      { embedDim: 8, numHeads: 4, numKvHeads: 2, weights: { inProj, outProj: f(8, 8) }, rotary: { interleaved: true } },
      checks,
    );
    expect(c).toMatchObject({ embedDim: 8, numHeads: 4, numKvHeads: 2, headDim: 2, kdim: 8, vdim: 8, packed: true });
    expect([c.q, c.k, c.v].map((p) => [p.weight === inProj, p.row, p.rows, p.inDim])).toEqual([
      [true, 0, 8, 8],
      [true, 8, 4, 8],
      [true, 12, 4, 8],
    ]);
    expect(c.o).toMatchObject({ row: 0, rows: 8, inDim: 8 });
    expect(c.rotary).toEqual({ base: 10000, dim: 2, interleaved: true, positionOffset: 0 });
  });

  it('resolves a forward call: sizes, sdpa dims and options, output shapes', () => {
    const c = validateMhaConfig(
      { embedDim: 6, numHeads: 2, headDim: 4, kdim: 5, weights: { q: f(8, 6), k: f(8, 5), v: f(8, 6), o: f(6, 8) } },
      checks,
    );
    const call = validateMhaForward(
      c,
      f(2, 3, 6),
      {
        key: f(2, 7, 5),
        value: f(2, 7, 6),
        causal: true,
        alignment: 'lower-right',
        needWeights: true,
        keyPaddingMask: { shape: [2, 7], bool: true },
      },
      checks,
    );
    expect(call).toMatchObject({
      B: 2,
      L: 3,
      Lk: 7,
      selfAttention: false,
      outputShape: [2, 3, 6],
      weightsShape: [2, 3, 7],
      needWeights: true,
      averageHeads: true,
    });
    expect(call.sdpaDims).toEqual({ B: 2, Hq: 2, Hkv: 2, Lq: 3, Lk: 7, D: 4, Dv: 4 });
    expect(call.attention).toMatchObject({
      scale: 0.5,
      softcap: 0,
      causal: true,
      offset: 4,
      layout: 'bshd',
      returnLse: false,
    });
    const self = validateMhaForward(
      validateMhaConfig(
        { embedDim: 4, numHeads: 2, weights: { q: f(4, 4), k: f(4, 4), v: f(4, 4), o: f(4, 4) } },
        checks,
      ),
      f(1, 2, 4),
      { needWeights: true, averageHeads: false },
      checks,
    );
    expect(self).toMatchObject({ selfAttention: true, weightsShape: [1, 2, 2, 2], mask: null, keyPaddingMask: null });
  });
});
