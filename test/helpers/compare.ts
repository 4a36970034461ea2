/** Comparison of GPU results with the float64 reference, with the f32 tolerance of docs/semantics.md §10. */
export const ATOL = 2e-5;
export const RTOL = 1e-4;

export interface Comparison {
  ok: boolean;
  maxError: number;
  worst: number;
  message: string;
}

/**
 * |gpu − ref| ≤ atol + rtol·|ref| for every element; ±∞ must match exactly; NaN passes only where
 * the reference is NaN too (inputs holding NaN or ∞ propagate it, docs/semantics.md §3).
 */
export function compareArrays(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol = ATOL,
  rtol = RTOL,
): Comparison {
  if (actual.length !== expected.length) {
    return {
      ok: false,
      maxError: Infinity,
      worst: -1,
      message: `length ${actual.length}, expected ${expected.length}`,
    };
  }
  let maxError = 0;
  let worst = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const exact = e === -Infinity || e === Infinity || Number.isNaN(e);
    const error = exact ? (Object.is(a, e) ? 0 : Infinity) : Math.abs(a - e);
    const bad = !(error <= atol + (exact ? 0 : rtol * Math.abs(e)));
    if (bad && (worst < 0 || !(error <= maxError))) worst = i;
    if (!(error <= maxError)) maxError = error;
  }
  const ok = worst < 0;
  const message = ok
    ? `max error ${maxError.toExponential(2)}`
    : `element ${worst}: got ${actual[worst]}, expected ${expected[worst]} (max error ${maxError})`;
  return { ok, maxError, worst, message };
}
