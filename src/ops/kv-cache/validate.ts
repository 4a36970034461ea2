/**
 * Validation of the KV cache's calls on the GPU: the contract's checks (options, append sizes, a
 * fixed capacity) plus what only the device has: the stores within its buffer limits, tensors of
 * this context and contiguous, a live cache. Nothing past validation throws an AttentionError.
 */
import { validateKvAppend, validateKvCacheOptions, type ResolvedKvCacheOptions } from '../../contract/kv-cache';
import { AttentionError, describe } from '../../errors';
import type { GpuRuntime } from '../../gpu/runtime';
import { checkTensor, GpuTensor } from '../../tensor';
import type { KvStorage } from './encode';
import { checkCapacity, planCapacity } from './plan';

/**
 * Checks the options of `attn.kvCache`.
 * @example
 * validateKvCache(runtime, { batch: 1, kvHeads: 8, headDim: 64, capacity: 256 }).valueDim; // 64
 */
export function validateKvCache(runtime: GpuRuntime, options: unknown): ResolvedKvCacheOptions {
  runtime.assertAlive();
  const o = validateKvCacheOptions(options);
  checkCapacity(o, o.capacity, runtime.device.limits, 'options.capacity');
  return o;
}

/** A tensor to append: of the cache's storage type (the tokens are copied as they are, never converted). */
function checkStorageTensor(runtime: GpuRuntime, storage: KvStorage, name: string, value: unknown): GpuTensor {
  const dtype = storage.dtype;
  if (value instanceof GpuTensor && value.dtype !== dtype) {
    throw new AttentionError(
      name,
      `an ${value.dtype} GpuTensor ${describe(value.shape)} for an ${dtype} cache`,
      `an ${dtype} GpuTensor (appends copy tokens as they are: make them with attn.tensor(data, shape, { dtype: '${dtype}' }))`,
    );
  }
  return checkTensor(runtime, name, value, false, [dtype]);
}

/** A checked append: the tensors, their token count, and the capacity the stores need. */
export interface ValidatedAppend {
  k: GpuTensor;
  v: GpuTensor;
  n: number;
  capacity: number;
}

/**
 * Checks `cache.append(k, v)`: a live cache, contiguous tensors of this context of the cache's dtype
 * [B, Hkv, n, D] and [B, Hkv, n, Dv] (f16 ones at a byte offset that is a multiple of 4: the copies
 * move whole words), room (growth within the device's limits, or a fixed capacity not passed), and
 * keys in the order the cache holds.
 */
export function validateAppend(runtime: GpuRuntime, storage: KvStorage, k: unknown, v: unknown): ValidatedAppend {
  runtime.assertAlive();
  storage.assertUsable('cache', runtime);
  const kT = checkStorageTensor(runtime, storage, 'k', k);
  const vT = checkStorageTensor(runtime, storage, 'v', v);
  for (const [argument, t] of [
    ['k', kT],
    ['v', vT],
  ] as const) {
    // A view of this cache without gaps is contiguous, but its storage may be replaced by the growth.
    if (t.buffer === storage.keys.buffer || t.buffer === storage.values.buffer) {
      throw new AttentionError(argument, "a view of this cache's own storage", 'new tokens in a tensor of their own');
    }
    if (t.byteOffset % 4 !== 0) {
      throw new AttentionError(
        argument,
        `an f16 tensor at byte offset ${t.byteOffset}`,
        'a byte offset that is a multiple of 4 (appends copy whole 32-bit words; wrap the tokens at such an offset)',
      );
    }
  }
  const n = validateKvAppend(storage, kT.shape, vT.shape);
  storage.assertKeyOrder('as given', 'k');
  const capacity = planCapacity(storage, n, runtime.device.limits, 'k');
  return { k: kT, v: vT, n, capacity };
}
