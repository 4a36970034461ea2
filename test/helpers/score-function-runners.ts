/**
 * Cases of the other score functions (`attn.additive`, `attn.multiplicative`) for every ring,
 * engine-neutral like case-runners.ts: host inputs deterministic from the case name, the GPU call,
 * and the float64 reference's output (and weights) to compare with. Odd sizes throughout.
 */
import { reference, roundF16 } from '../../src/index';
import type { HostResult, HostTensor } from '../../src/contract/types';
import { compare, guarded, summarise, type Attention, type Comparison, type Lib, type Runnable } from './case-runners';
import { random } from '../mha-cases';

export interface ScoreCase {
  name: string;
  op: 'additive' | 'multiplicative';
  B: number;
  Lq: number;
  Lk: number;
  Dq: number;
  Dk: number;
  Dv: number;
  /** additive's attention dim. */
  A?: number;
  bias?: boolean;
  scale?: number;
  causal?: boolean;
  /**
   * 'bool': [B, Lq, Lk], about one key in five removed, and every key of batch 0's query 3.
   * 'float': [Lq, Lk] in (−2, 2) with −∞ at (i + 2j) % 7 = 0, and every key of query 2 −∞.
   * 'padding': a boolean key-padding mask [B, 1, Lk] (batch b drops its last 3 + b keys).
   */
  mask?: 'bool' | 'float' | 'padding';
  returnWeights?: boolean;
  /** Every float input stored as f16 (its host data rounded to f16 first). */
  f16?: boolean;
}

/** The host inputs of a case: q, k, v and the options, weights and mask as host tensors. */
export interface ScoreInputs {
  q: HostTensor;
  k: HostTensor;
  v: HostTensor;
  options: Record<string, unknown>;
}

function hostMask(c: ScoreCase, round: (x: number) => number): HostTensor | undefined {
  const { B, Lq, Lk } = c;
  if (c.mask === 'bool') {
    const data = new Uint8Array(B * Lq * Lk).map((_, e) => {
      const [b, i, j] = [Math.floor(e / (Lq * Lk)), Math.floor(e / Lk) % Lq, e % Lk];
      return (b === 0 && i === 3) || (7 * i + 3 * j + b) % 5 === 0 ? 0 : 1;
    });
    return { data, shape: [B, Lq, Lk] };
  }
  if (c.mask === 'float') {
    const noise = random(`${c.name} mask`, [Lq, Lk], 2).data;
    const removed = (e: number) => Math.floor(e / Lk) === 2 || (Math.floor(e / Lk) + 2 * (e % Lk)) % 7 === 0;
    const data = noise.map((x, e) => (removed(e) ? -Infinity : round(x)));
    return { data, shape: [Lq, Lk] };
  }
  if (c.mask === 'padding') {
    const data = new Uint8Array(B * Lk).map((_, e) => (e % Lk < Lk - 3 - Math.floor(e / Lk) ? 1 : 0));
    return { data, shape: [B, 1, Lk] };
  }
  return undefined;
}

/** Host inputs deterministic from the case name (f16 cases: rounded to f16). */
export function scoreInputs(c: ScoreCase): ScoreInputs {
  const round = (t: HostTensor & { data: Float32Array }) => (c.f16 ? { ...t, data: t.data.map(roundF16) } : t);
  const r = (what: string, shape: number[], scale = 1) => round(random(`${c.name} ${what}`, shape, scale));
  const q = r('q', [c.B, c.Lq, c.Dq]);
  const k = r('k', [c.B, c.Lk, c.Dk]);
  const v = r('v', [c.B, c.Lk, c.Dv]);
  const options: Record<string, unknown> = {
    causal: c.causal,
    returnWeights: c.returnWeights,
    mask: hostMask(c, c.f16 ? roundF16 : (x) => x),
  };
  if (c.op === 'additive') {
    const A = c.A ?? 16;
    Object.assign(options, {
      wq: r('wq', [A, c.Dq], 1.5 / Math.sqrt(c.Dq)),
      wk: r('wk', [A, c.Dk], 1.5 / Math.sqrt(c.Dk)),
      va: r('va', [A], 1),
      bias: c.bias ? r('bias', [A], 0.5) : undefined,
    });
  } else {
    Object.assign(options, { weight: r('weight', [c.Dq, c.Dk], 1 / Math.sqrt(c.Dk)), scale: c.scale });
  }
  return { q, k, v, options };
}

/** The reference's answer: the output, and the weights when the case asks for them. */
export function scoreExpected(c: ScoreCase, inputs: ScoreInputs): { output: HostResult; weights?: HostResult } {
  const run = c.op === 'additive' ? reference.additive : reference.multiplicative;
  const r = (run as (...a: unknown[]) => unknown)(inputs.q, inputs.k, inputs.v, inputs.options);
  return c.returnWeights ? (r as { output: HostResult; weights: HostResult }) : { output: r as HostResult };
}

/**
 * The cases every ring runs (the browser and wgpu rings too, so few: each new pipeline costs seconds
 * of SwiftShader compiles there); test/node/score-functions.test.ts runs more.
 */
export const SCORE_CASES: ScoreCase[] = [
  {
    name: 'additive B=2 Lq=77 Lk=50 Dq=40 Dk=24 Dv=40 A=24, bias, bool mask with an empty row, weights',
    op: 'additive',
    ...{ B: 2, Lq: 77, Lk: 50, Dq: 40, Dk: 24, Dv: 40, A: 24 },
    bias: true,
    mask: 'bool',
    returnWeights: true,
  },
  {
    name: 'multiplicative causal Lq=Lk=77 Dq=24 Dk=40 Dv=8, float mask with a −∞ row, f16 inputs',
    op: 'multiplicative',
    ...{ B: 1, Lq: 77, Lk: 77, Dq: 24, Dk: 40, Dv: 8 },
    causal: true,
    mask: 'float',
    f16: true,
  },
];

/** Node-ring cases beyond SCORE_CASES. */
export const MORE_SCORE_CASES: ScoreCase[] = [
  {
    name: 'additive causal Lq=Lk=77 D=40 Dv=12 A=24, float mask with a −∞ row, f16 inputs',
    op: 'additive',
    ...{ B: 1, Lq: 77, Lk: 77, Dq: 40, Dk: 40, Dv: 12, A: 24 },
    causal: true,
    mask: 'float',
    f16: true,
  },
  {
    name: 'multiplicative B=2 Lq=77 Lk=50 Dq=40 Dk=24 Dv=40, key padding, scale 0.25, weights',
    op: 'multiplicative',
    ...{ B: 2, Lq: 77, Lk: 50, Dq: 40, Dk: 24, Dv: 40 },
    mask: 'padding',
    scale: 0.25,
    returnWeights: true,
  },
  {
    name: 'multiplicative causal Lq=Lk=77 Dq=24 Dk=40 Dv=8, float mask with a −∞ row',
    op: 'multiplicative',
    ...{ B: 1, Lq: 77, Lk: 77, Dq: 24, Dk: 40, Dv: 8 },
    causal: true,
    mask: 'float',
  },
];

/** Runs one case on `attn` and compares with the reference. */
export function runScoreCase(lib: Lib, attn: Attention, c: ScoreCase): ReturnType<typeof guarded> {
  return guarded(lib, c.name, async (own) => {
    const inputs = scoreInputs(c);
    const dtype = c.f16 ? 'f16' : 'f32';
    const put = (t: HostTensor) =>
      t.data instanceof Uint8Array
        ? own(attn.mask(t.data, [...t.shape]))
        : own(attn.tensor(Float32Array.from(t.data as ArrayLike<number>), [...t.shape], { dtype }));
    const options = Object.fromEntries(
      Object.entries(inputs.options).map(([key, x]) => [key, x && typeof x === 'object' ? put(x as HostTensor) : x]),
    );
    const [q, k, v] = [inputs.q, inputs.k, inputs.v].map(put) as ReturnType<Attention['tensor']>[];
    const call = c.op === 'additive' ? attn.additive.bind(attn) : attn.multiplicative.bind(attn);
    const got = (call as (...a: unknown[]) => unknown)(q, k, v, options);
    const result = got && typeof got === 'object' && 'output' in got ? got : { output: got };
    const { output, weights } = result as { output: ReturnType<Attention['tensor']>; weights?: typeof output };
    [output, weights].forEach((t) => t && own(t));
    const want = scoreExpected(c, inputs);
    const comparisons: Comparison[] = [compare('output', await output.read(), want.output.data)];
    if (want.weights) {
      if (!weights) comparisons.push({ maxErr: Infinity, failure: 'weights: not returned' });
      else comparisons.push(compare('weights', await weights.read(), want.weights.data));
    }
    return summarise(c.name, comparisons, undefined);
  });
}

/** The score-function cases, names as in SCORE_CASES. */
export const scoreRunnables = (): Runnable[] =>
  SCORE_CASES.map((c) => ({ name: c.name, run: (lib, attn) => runScoreCase(lib, attn, c) }));
