/**
 * The fuzz ring's element rule: the project's f32 tolerance (test/helpers/compare.ts,
 * docs/semantics.md §10) for finite values, and exact agreement on what is not finite: a NaN in the
 * reference must be a NaN on the GPU (and a NaN on the GPU must be one in the reference), ±∞ must
 * match exactly.
 */
import { ATOL, RTOL } from '../compare';

export interface Mismatch {
  index: number;
  /** The element's multi-index, with axis names. */
  where: string;
  got: number;
  expected: number;
}

export interface Verdict {
  ok: boolean;
  count: number;
  first: Mismatch[];
}

/** Whether one GPU value agrees with one reference value (`slack`: an extra absolute allowance). */
export function agrees(got: number, expected: number, slack = 0): boolean {
  if (Number.isNaN(expected) || Number.isNaN(got)) return Number.isNaN(expected) && Number.isNaN(got);
  if (!Number.isFinite(expected) || !Number.isFinite(got)) return got === expected;
  return Math.abs(got - expected) <= ATOL + RTOL * Math.abs(expected) + slack;
}

/** float32's unit roundoff, doubled for the sum that makes a logit: the error of one f32 logit per unit of |s|. */
const F32_LOGIT_ERROR = 2 ** -23;

/** Rows whose largest |logit| passes this are ill-conditioned in float32 (docs/semantics.md §10). */
export const LARGE_LOGIT = 1e3;

/**
 * The conditioning allowance of docs/semantics.md §10 for a row whose largest finite |logit| is `S`:
 * each f32 logit is off by up to ε·S, each weight by up to 2ε·S of itself, so an output element by up
 * to 2ε·S·max|v| and the lse by ε·S (`valueScale` = max|v|, or 1 for weights, ½ for lse). 0 for
 * rows of moderate logits, which meet the plain tolerance.
 */
export function logitSlack(S: number, valueScale: number): number {
  return S > LARGE_LOGIT ? 2 * F32_LOGIT_ERROR * S * valueScale : 0;
}

/** `flat` as a multi-index of `shape`, with axis names: `[b=0, h=1, i=3, d=0]`. */
export function multiIndex(flat: number, shape: readonly number[], axes: readonly string[]): string {
  const parts: string[] = [];
  let rest = flat;
  for (let a = shape.length - 1; a >= 0; a--) {
    parts.unshift(`${axes[a] ?? `a${a}`}=${rest % shape[a]}`);
    rest = Math.floor(rest / shape[a]);
  }
  return `[${parts.join(', ')}]`;
}

/** Compares element by element; keeps the first `keep` mismatches. */
export function compare(
  got: ArrayLike<number>,
  expected: ArrayLike<number>,
  shape: readonly number[],
  axes: readonly string[],
  keep = 4,
  slack: (index: number) => number = () => 0,
): Verdict {
  if (got.length !== expected.length) {
    const m = { index: -1, where: `length ${got.length} vs ${expected.length}`, got: NaN, expected: NaN };
    return { ok: false, count: 1, first: [m] };
  }
  const first: Mismatch[] = [];
  let count = 0;
  for (let i = 0; i < expected.length; i++) {
    if (agrees(got[i], expected[i], slack(i))) continue;
    count++;
    if (first.length < keep)
      first.push({ index: i, where: multiIndex(i, shape, axes), got: got[i], expected: expected[i] });
  }
  return { ok: count === 0, count, first };
}

/** One line per mismatch, for a failure message. */
export function describeVerdict(name: string, v: Verdict): string {
  const lines = v.first.map((m) => `    ${name}${m.where}: GPU ${m.got}, reference ${m.expected}`);
  return `  ${name}: ${v.count} element(s) differ\n${lines.join('\n')}`;
}

/** Throws one error listing every output that differs (nothing when all agree). */
export function assertAllAgree(context: string, verdicts: Record<string, Verdict | undefined>): void {
  const bad = Object.entries(verdicts).filter((e): e is [string, Verdict] => e[1] !== undefined && !e[1].ok);
  if (bad.length === 0) return;
  throw new Error(`${context}\n${bad.map(([n, v]) => describeVerdict(n, v)).join('\n')}`);
}
