/**
 * Score modifiers of the attention contract (docs/semantics.md §6a): ALiBi's linear biases, attention
 * sinks (one learned logit per query head in the softmax's denominator), and the standard ALiBi slope
 * schedule. Pure: nothing here touches a device.
 */
import { AttentionError, describe } from '../errors';
import { F32_MAX } from './checks';

/** Per-query-head modifiers with their values as given (float64); null when absent. */
export interface ResolvedModifiers {
  /** ALiBi: logit += −slope_h·|p − j|, after the softcap, before the mask. */
  alibiSlopes: Float64Array | null;
  /** Sinks: exp(sink_h) joins the softmax's denominator; the sink has no value row. */
  sinks: Float64Array | null;
}

export const NO_MODIFIERS: ResolvedModifiers = { alibiSlopes: null, sinks: null };

/** One float per query head, each a finite float32 (a sink may also be −∞: no sink for that head). */
function checkPerHead(
  argument: string,
  value: unknown,
  heads: number,
  allowMinusInfinity: boolean,
): Float64Array | null {
  if (value === undefined) return null;
  const isArray = Array.isArray(value) || value instanceof Float32Array || value instanceof Float64Array;
  const expected = `${heads} numbers, one per query head (Hq = ${heads}), each finite and a float32${
    allowMinusInfinity ? ' (or −Infinity)' : ''
  }`;
  if (!isArray) throw new AttentionError(argument, describe(value), expected);
  const values = value as ArrayLike<unknown>;
  if (values.length !== heads) throw new AttentionError(argument, `${values.length} numbers`, expected);
  for (let h = 0; h < heads; h++) {
    const x = values[h];
    const ok = typeof x === 'number' && (Math.abs(x) <= F32_MAX || (allowMinusInfinity && x === -Infinity));
    if (!ok) throw new AttentionError(argument, `${describe(x)} at head ${h}`, expected);
  }
  return Float64Array.from(values as ArrayLike<number>);
}

/**
 * Checks `alibiSlopes` and `sinks` against the number of query heads.
 * @example
 * validateModifiers({ alibiSlopes: alibiSlopes(8) }, 8).alibiSlopes?.length; // 8
 */
export function validateModifiers(
  options: { alibiSlopes?: unknown; sinks?: unknown },
  heads: number,
): ResolvedModifiers {
  return {
    alibiSlopes: checkPerHead('options.alibiSlopes', options.alibiSlopes, heads, false),
    sinks: checkPerHead('options.sinks', options.sinks, heads, true),
  };
}

/**
 * The ALiBi paper's slope schedule for `numHeads` heads: the geometric sequence 2^(−8/n), 2^(−16/n), …
 * for a power of two n; otherwise the schedule of the largest power of two below, then every other
 * slope of twice that, until there are `numHeads`.
 * @example
 * alibiSlopes(4); // [0.25, 0.0625, 0.015625, 0.00390625]
 * alibiSlopes(6); // alibiSlopes(4) then 2^-1, 2^-3 (every other slope of alibiSlopes(8))
 */
export function alibiSlopes(numHeads: number): number[] {
  if (!Number.isInteger(numHeads) || numHeads < 1) {
    throw new AttentionError('numHeads', describe(numHeads), 'a positive integer');
  }
  const powerOfTwo = (n: number) => Array.from({ length: n }, (_, i) => 2 ** ((-8 * (i + 1)) / n));
  const base = 2 ** Math.floor(Math.log2(numHeads));
  if (base === numHeads) return powerOfTwo(numHeads);
  const extra = powerOfTwo(2 * base).filter((_, i) => i % 2 === 0);
  return [...powerOfTwo(base), ...extra.slice(0, numHeads - base)];
}
