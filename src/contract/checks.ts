/**
 * Small argument checks every validator shares. Each throws an {@link AttentionError} that names the
 * argument, the value given and the value expected; none touches a device.
 */
import { AttentionError, describe } from '../errors';

/** A finite integer > 0. */
export function isPositiveInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x > 0;
}

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** `value` as a boolean; `fallback` when undefined. */
export function checkFlag(argument: string, value: unknown, fallback = false): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new AttentionError(argument, describe(value), 'true or false');
  return value;
}

/** An integer ≥ `min` (0 or 1); `fallback` when undefined and a fallback is given. */
export function checkInt(argument: string, value: unknown, min: number, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new AttentionError(argument, describe(value), min > 0 ? 'a positive integer' : 'an integer ≥ 0');
  }
  return value;
}

/**
 * A plain object whose defined keys are all in `keys` (an unknown key is named in the error);
 * `{}` for an optional one left undefined.
 */
export function checkObject(
  argument: string,
  value: unknown,
  keys: readonly string[],
  optional: boolean,
): Record<string, unknown> {
  if (value === undefined && optional) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AttentionError(argument, describe(value), optional ? 'an object or undefined' : 'an object');
  }
  for (const [key, v] of Object.entries(value)) {
    if (v !== undefined && !keys.includes(key)) {
      throw new AttentionError(`${argument}.${key}`, 'an unknown key', `one of ${keys.join(', ')}`);
    }
  }
  return value as Record<string, unknown>;
}

/** The largest finite float32: what a uniform can hold of a scale. */
export const F32_MAX = 3.4028234663852886e38;

/**
 * A finite number > 0 (≥ 0 with `allowZero`, 0 meaning off) that float32 can hold, since kernels
 * take it as an f32 uniform; undefined when not given.
 */
export function checkFactor(argument: string, value: unknown, allowZero = false): number | undefined {
  if (value === undefined) return undefined;
  const ok = typeof value === 'number' && (allowZero ? value >= 0 : value > 0) && value <= F32_MAX;
  if (!ok) {
    const range = `that float32 holds (at most ${F32_MAX})`;
    const expected = allowZero ? `a finite number ≥ 0 (0 = off) ${range}` : `a finite number > 0 ${range}`;
    throw new AttentionError(argument, describe(value), expected);
  }
  return value as number;
}
