/**
 * The contract of the other score functions (docs/semantics.md §14): additive (Bahdanau) and
 * multiplicative (Luong "general") attention over q [B, Lq, Dq], k [B, Lk, Dk], v [B, Lk, Dv].
 * Shared by `attn.additive` / `attn.multiplicative` and their reference twins, so both reject the
 * same calls with the same messages; each path supplies only {@link TensorChecks}. Pure.
 */
import { AttentionError, describe } from '../errors';
import { checkFactor, checkFlag, checkObject } from './checks';
import { checkFloat, type Shaped } from './multi-head-config';
import type { TensorChecks } from './multi-head-options';
import type { MaskStrides } from './sdpa';

/** Options of `additive`: `T` the weight tensors, `M` the mask. */
export interface AdditiveOptionsOf<T, M = T> {
  /** [A, Dq]: projects each query to the attention dim A. */
  wq: T;
  /** [A, Dk]: projects each key. */
  wk: T;
  /** [A]: score(i, j) = vaᵀ·tanh(wq·qᵢ + wk·kⱼ + bias). */
  va: T;
  /** [A], added inside the tanh. Default none (0). */
  bias?: T;
  /** Float: added to the scores (−Infinity removes the key). Boolean: 1 = may attend. [Lq, Lk] or [B|1, Lq|1, Lk|1]. */
  mask?: M;
  /** Query i sees keys j ≤ i (upper-left). */
  causal?: boolean;
  /** Also return the weights [B, Lq, Lk]. */
  returnWeights?: boolean;
}

/** Options of `multiplicative`: `T` the weight tensor, `M` the mask. */
export interface MultiplicativeOptionsOf<T, M = T> {
  /** [Dq, Dk]: score(i, j) = scale·qᵢᵀ·W·kⱼ. */
  weight: T;
  /** Multiplies the scores. Default 1 (Luong's). Finite, > 0, a float32. */
  scale?: number;
  mask?: M;
  causal?: boolean;
  returnWeights?: boolean;
}

/** What a score function returns with `returnWeights: true`: `T` is a GpuTensor or a host result. */
export interface ScoreOutputsOf<T> {
  /** [B, Lq, Dv]. */
  output: T;
  /** [B, Lq, Lk]: the softmax weights; a row with no key is all zeros. */
  weights: T;
}

/** Sizes of a score-function call; A is additive's attention dim (0 for multiplicative). */
export interface ScoreDims {
  B: number;
  Lq: number;
  Lk: number;
  Dq: number;
  Dk: number;
  Dv: number;
  A: number;
}

/** A checked mask: the tensor, whether it is boolean, and its strides over [b, ·, i, j] (h is 0). */
export interface ScoreMask<T> {
  tensor: T;
  bool: boolean;
  strides: MaskStrides;
}

/** What both paths share of a checked call. */
interface ScoreCall<T> {
  dims: ScoreDims;
  q: T;
  k: T;
  v: T;
  mask: ScoreMask<T> | null;
  causal: boolean;
  returnWeights: boolean;
}

export interface ValidatedAdditive<T> extends ScoreCall<T> {
  wq: T;
  wk: T;
  va: T;
  bias: T | null;
}

export interface ValidatedMultiplicative<T> extends ScoreCall<T> {
  weight: T;
  scale: number;
}

const ADDITIVE_KEYS = ['wq', 'wk', 'va', 'bias', 'mask', 'causal', 'returnWeights'];
const MULTIPLICATIVE_KEYS = ['weight', 'scale', 'mask', 'causal', 'returnWeights'];

/** A float tensor of rank 3, [B, L, D]. */
function checkInput<T extends Shaped>(checks: TensorChecks<T>, argument: string, value: unknown, words: string): T {
  const t = checks.tensor(argument, value);
  if (checks.isBool(t)) throw new AttentionError(argument, 'a boolean tensor', `a float tensor ${words}`);
  const s = t.shape;
  if (!Array.isArray(s) || s.length !== 3 || !s.every((d) => Number.isInteger(d) && d > 0)) {
    throw new AttentionError(argument, `shape ${describe(s)}`, `3 positive integers ${words}`);
  }
  return t;
}

/** q, k, v with their shapes checked against each other. */
function checkInputs<T extends Shaped>(checks: TensorChecks<T>, q: unknown, k: unknown, v: unknown) {
  const qt = checkInput(checks, 'q', q, '[B, Lq, Dq]');
  const kt = checkInput(checks, 'k', k, '[B, Lk, Dk]');
  const vt = checkInput(checks, 'v', v, '[B, Lk, Dv]');
  const [B, Lq, Dq] = qt.shape;
  const [kb, Lk, Dk] = kt.shape;
  const [vb, vl, Dv] = vt.shape;
  if (kb !== B) throw new AttentionError('k', `batch ${kb} (shape ${describe(kt.shape)})`, `batch ${B}, as q`);
  if (vb !== B) throw new AttentionError('v', `batch ${vb} (shape ${describe(vt.shape)})`, `batch ${B}, as q`);
  if (vl !== Lk) throw new AttentionError('v', `${vl} keys (shape ${describe(vt.shape)})`, `${Lk} keys, as k`);
  for (const [name, t] of [
    ['q', qt],
    ['k', kt],
    ['v', vt],
  ] as const)
    checks.contents(name, t);
  return { q: qt, k: kt, v: vt, dims: { B, Lq, Lk, Dq, Dk, Dv, A: 0 } };
}

/**
 * The mask option: float (added) or boolean (1 = may attend), rank 2 or 3, right-aligned against
 * [B, Lq, Lk], each dim 1 or the full size. Returns null when absent.
 */
function checkMask<T extends Shaped>(checks: TensorChecks<T>, value: unknown, dims: ScoreDims): ScoreMask<T> | null {
  if (value === undefined || value === null) return null;
  const t = checks.tensor('options.mask', value);
  const full = [dims.B, dims.Lq, dims.Lk];
  const expected = `rank 2 or 3, right-aligned against [B, Lq, Lk] = ${describe(full)}, each dim 1 or the full size`;
  const shape = t.shape;
  if (!Array.isArray(shape) || shape.length < 2 || shape.length > 3) {
    throw new AttentionError('options.mask', `shape ${describe(shape)}`, expected);
  }
  const padded = [...Array(3 - shape.length).fill(1), ...shape] as number[];
  const strides = [0, 0, 0];
  let stride = 1;
  for (let a = 2; a >= 0; a--) {
    if (padded[a] !== 1 && padded[a] !== full[a]) {
      throw new AttentionError(
        'options.mask',
        `shape ${describe(shape)} (dim ${padded[a]} against ${full[a]})`,
        expected,
      );
    }
    strides[a] = padded[a] === 1 ? 0 : stride;
    stride *= padded[a];
  }
  checks.contents('options.mask', t);
  return { tensor: t, bool: checks.isBool(t), strides: { b: strides[0], h: 0, i: strides[1], j: strides[2] } };
}

/** wq [A, Dq]: a float matrix whose rows give the attention dim A. */
function checkProjection<T extends Shaped>(checks: TensorChecks<T>, value: unknown, Dq: number): T {
  const expected = `a float tensor [A, ${Dq}] ([A, Dq]: A ≥ 1 rows, Dq from q)`;
  if (value === undefined) throw new AttentionError('options.wq', 'undefined', expected);
  const t = checks.tensor('options.wq', value);
  if (checks.isBool(t)) throw new AttentionError('options.wq', 'a boolean tensor', expected);
  const s = t.shape;
  if (!Array.isArray(s) || s.length !== 2 || s[1] !== Dq || !(Number.isInteger(s[0]) && s[0] > 0)) {
    throw new AttentionError('options.wq', `shape ${describe(s)}`, expected);
  }
  checks.contents('options.wq', t);
  return t;
}

/** The options object with only `keys` in it; the flags and the mask. */
function checkCommon<T extends Shaped>(
  checks: TensorChecks<T>,
  options: unknown,
  keys: readonly string[],
  dims: ScoreDims,
): { o: Record<string, unknown>; mask: ScoreMask<T> | null; causal: boolean; returnWeights: boolean } {
  const o = checkObject('options', options, keys, false);
  const causal = checkFlag('options.causal', o.causal);
  const returnWeights = checkFlag('options.returnWeights', o.returnWeights);
  return { o, mask: checkMask(checks, o.mask, dims), causal, returnWeights };
}

/**
 * Checks an additive call: q [B, Lq, Dq], k [B, Lk, Dk], v [B, Lk, Dv], wq [A, Dq] (A from it),
 * wk [A, Dk], va [A], bias [A], the mask, causal and returnWeights.
 * @example
 * validateAdditiveCall(q, k, v, { wq, wk, va }, checks).dims; // { B, Lq, Lk, Dq, Dk, Dv, A }
 */
export function validateAdditiveCall<T extends Shaped>(
  q: unknown,
  k: unknown,
  v: unknown,
  options: unknown,
  checks: TensorChecks<T>,
): ValidatedAdditive<T> {
  const inputs = checkInputs(checks, q, k, v);
  const { Dq, Dk } = inputs.dims;
  const o = checkObject('options', options, ADDITIVE_KEYS, false);
  const wq = checkProjection(checks, o.wq, Dq);
  const dims = { ...inputs.dims, A: wq.shape[0] };
  const what = (rows: string) => `${rows}, with A = ${dims.A} from options.wq`;
  const wk = checkFloat(checks, 'options.wk', o.wk, [dims.A, Dk], what(`[A, Dk]: Dk = ${Dk} from k`));
  const va = checkFloat(checks, 'options.va', o.va, [dims.A], what('[A]'));
  const bias = o.bias === undefined ? null : checkFloat(checks, 'options.bias', o.bias, [dims.A], what('[A]'));
  return { ...inputs, ...checkCommon(checks, o, ADDITIVE_KEYS, dims), dims, wq, wk, va, bias };
}

/**
 * Checks a multiplicative call: q [B, Lq, Dq], k [B, Lk, Dk], v [B, Lk, Dv], weight [Dq, Dk], scale
 * (default 1), the mask, causal and returnWeights.
 * @example
 * validateMultiplicativeCall(q, k, v, { weight }, checks).scale; // 1
 */
export function validateMultiplicativeCall<T extends Shaped>(
  q: unknown,
  k: unknown,
  v: unknown,
  options: unknown,
  checks: TensorChecks<T>,
): ValidatedMultiplicative<T> {
  const inputs = checkInputs(checks, q, k, v);
  const { Dq, Dk } = inputs.dims;
  const o = checkObject('options', options, MULTIPLICATIVE_KEYS, false);
  const weight = checkFloat(
    checks,
    'options.weight',
    o.weight,
    [Dq, Dk],
    `[Dq, Dk], Dq = ${Dq} from q, Dk = ${Dk} from k`,
  );
  const scale = checkFactor('options.scale', o.scale) ?? 1;
  return { ...inputs, ...checkCommon(checks, o, MULTIPLICATIVE_KEYS, inputs.dims), weight, scale };
}
