/**
 * The softmax of the contract (docs/semantics.md §3–4), shared by every reference operation. A logit
 * of −∞ is a removed key: weight 0, and its value row is not read. NaN and +∞ are not repaired: they
 * make the row NaN, as IEEE arithmetic does. A row whose every logit is −∞ has no key: weights 0,
 * output 0, log-sum-exp −∞.
 */

/**
 * Writes the probabilities of `logits` into `weights` (same length) and returns the natural
 * log-sum-exp. The maximum is taken over the logits that are not NaN and subtracted first, so
 * logits of ±1e4 (or the finite −3.4e38 of a padding mask) neither overflow nor vanish. A `sink`
 * logit (attention sinks) joins the denominator and the lse, and has no weight of its own.
 * @example
 * const w = new Float64Array(3);
 * softmaxRow(Float64Array.of(0, Math.log(3), -Infinity), w); // w = [0.25, 0.75, 0]; returns ln 4
 * softmaxRow(Float64Array.of(0, Math.log(3)), w, 0);           // w = [0.2, 0.6]; returns ln 5
 */
export function softmaxRow(logits: Float64Array, weights: Float64Array, sink = -Infinity): number {
  let max = sink;
  let anyNaN = false;
  for (const s of logits) {
    if (Number.isNaN(s)) anyNaN = true;
    else if (s > max) max = s;
  }
  if (max === -Infinity && !anyNaN) {
    weights.fill(0);
    return -Infinity;
  }
  // Every non-NaN logit is −∞ but some are NaN: subtract 0, so the NaN reaches the sum.
  const shift = max === -Infinity ? 0 : max;
  let sum = sink === -Infinity ? 0 : Math.exp(sink - shift);
  for (let j = 0; j < logits.length; j++) {
    const p = logits[j] === -Infinity ? 0 : Math.exp(logits[j] - shift);
    weights[j] = p;
    sum += p;
  }
  // A removed key's weight stays 0, even in a row that the NaN of another key makes NaN.
  for (let j = 0; j < logits.length; j++) if (logits[j] !== -Infinity) weights[j] /= sum;
  return shift + Math.log(sum);
}

/**
 * Sigmoid attention's weights: sigmoid(logit + bias) for each key, 0 for a removed key (−∞), NaN for
 * a NaN logit; no normalisation over the keys. Returns NaN (sigmoid has no log-sum-exp).
 * @example
 * const w = new Float64Array(2);
 * sigmoidRow(Float64Array.of(0, -Infinity), w, 0); // w = [0.5, 0]
 */
export function sigmoidRow(logits: Float64Array, weights: Float64Array, bias: number): number {
  for (let j = 0; j < logits.length; j++) {
    const x = logits[j] + bias;
    weights[j] = logits[j] === -Infinity ? 0 : 1 / (1 + Math.exp(-x));
  }
  return NaN;
}

/**
 * Adds Σ_j weights[j] · value(j)[c] into `out` from `at`, over the keys whose logit is not −∞ (a
 * removed key's value row is not read; a kept key's is, even when its weight is 0, so 0 · NaN is NaN).
 */
export function accumulateRow(
  logits: Float64Array,
  weights: Float64Array,
  value: (j: number) => number,
  values: HostData,
  width: number,
  out: Float64Array,
  at: number,
): void {
  for (let j = 0; j < logits.length; j++) {
    if (logits[j] === -Infinity) continue;
    const va = value(j);
    for (let c = 0; c < width; c++) out[at + c] += weights[j] * Number(values[va + c]);
  }
}

type HostData = ArrayLike<number>;
