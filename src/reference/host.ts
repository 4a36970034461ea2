/**
 * What the reference calls a tensor: a host tensor `{ data, shape }` (Float32Array, Float64Array,
 * number[], or a Uint8Array holding booleans). One place checks it for every reference operation.
 */
import { sizeOf } from '../contract/checks';
import type { HostTensor } from '../contract/types';
import { AttentionError, describe } from '../errors';

/** `value` as a host tensor (an object with `data` and `shape`), or an AttentionError naming `argument`. */
export function asHostTensor(argument: string, value: unknown): HostTensor {
  const ok = typeof value === 'object' && value !== null && 'data' in value && 'shape' in value;
  if (!ok) throw new AttentionError(argument, describe(value), 'a host tensor { data, shape }');
  return value as HostTensor;
}

/** Checks that the tensor holds exactly as many elements as its shape says. */
export function checkHostLength(argument: string, t: HostTensor): void {
  const want = sizeOf(t.shape);
  if (t.data?.length !== want) {
    throw new AttentionError(
      `${argument}.data`,
      `${t.data?.length} elements`,
      `${want} elements for shape ${describe(t.shape)}`,
    );
  }
}

/**
 * A host tensor whose shape is a list of positive integers and whose length matches it; with
 * `float`, boolean (Uint8Array) data is refused.
 */
export function checkHost(argument: string, value: unknown, float = false): HostTensor {
  const t = asHostTensor(argument, value);
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new AttentionError(argument, `shape ${describe(t.shape)}`, 'a list of positive integers');
  }
  if (float && t.data instanceof Uint8Array) {
    throw new AttentionError(
      `${argument}.data`,
      'a Uint8Array (boolean data)',
      'float data (Float32Array, Float64Array or number[])',
    );
  }
  checkHostLength(argument, t);
  return t;
}
