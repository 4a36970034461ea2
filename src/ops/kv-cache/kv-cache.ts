/**
 * `attn.kvCache`: the keys and values of earlier tokens on the device, for decoding. validate →
 * plan (the capacity, the copies) → encode (copyBufferToBuffer per (batch, head), growth by
 * doubling). See encode.ts for the stores and the rules of the views.
 */
import type { KvCacheDtype, KvCacheOptions } from '../../contract/kv-cache';
import type { GpuRuntime } from '../../gpu/runtime';
import type { GpuTensor } from '../../tensor';
import { KvStorage, submitCopies, type GpuKvCache } from './encode';
import { validateAppend, validateKvCache } from './validate';

/**
 * A KV cache on the device: append each step's keys and values, attend over all of them through
 * `keys` and `values` (strided views, no copy), or hand it to a multi-head layer's forward.
 * @example
 * const cache = attn.kvCache({ batch: 1, kvHeads: 8, headDim: 64, capacity: 1024 });
 * cache.append(k, v);                                        // k, v [1, 8, n, 64]
 * const o = attn.sdpa(q, cache.keys, cache.values, { causal: true, alignment: 'lower-right' });
 * cache.destroy();
 */
export class KvCache implements GpuKvCache {
  readonly #runtime: GpuRuntime;
  readonly #storage: KvStorage;

  /** @internal Made by attn.kvCache(options). */
  constructor(runtime: GpuRuntime, options: KvCacheOptions) {
    this.#runtime = runtime;
    this.#storage = new KvStorage(runtime, validateKvCache(runtime, options), this);
  }

  /** The stores' element type, 'f32' or 'f16': appends take tensors of it, `keys` and `values` have it. */
  get dtype(): KvCacheDtype {
    return this.#storage.dtype;
  }
  /** B. */
  get batch(): number {
    return this.#storage.batch;
  }
  /** Hkv. */
  get kvHeads(): number {
    return this.#storage.kvHeads;
  }
  /** D. */
  get headDim(): number {
    return this.#storage.headDim;
  }
  /** Dv. */
  get valueDim(): number {
    return this.#storage.valueDim;
  }
  /** Whether an append past the capacity doubles it (else it is refused). */
  get growable(): boolean {
    return this.#storage.growable;
  }
  /** Tokens held per (batch, head). */
  get length(): number {
    return this.#storage.length;
  }
  /** Tokens the stores hold before the next growth. */
  get capacity(): number {
    return this.#storage.capacity;
  }
  get destroyed(): boolean {
    return this.#storage.destroyed;
  }

  /**
   * Appends k [B, Hkv, n, D] and v [B, Hkv, n, Dv] (layout bhsd, contiguous) after the tokens held:
   * one buffer copy per (batch, head) and tensor, nothing held is copied, unless the capacity runs
   * out: then the stores grow to double (one copy of what is held) first. An AttentionError (the
   * cache unchanged, nothing enqueued) for other sizes, a fixed capacity passed, a destroyed cache.
   * @example
   * cache.append(k, v); // cache.length grows by n
   */
  append(k: GpuTensor, v: GpuTensor): void {
    const storage = this.#storage;
    const call = validateAppend(this.#runtime, storage, k, v);
    storage.reserve(call.capacity);
    const jobs = storage.appendJobs(call.k, call.v, call.n);
    const ready = submitCopies(this.#runtime, 'kvCache append', jobs, [call.k, call.v, storage.keys, storage.values]);
    storage.commit(call.n, ready, 'as given');
  }

  /**
   * The keys held, [B, Hkv, length, D]: a view of the cache's storage (no copy) for `attn.sdpa` /
   * `attn.sdpaNaive` (as k). It keeps the length it was taken with across appends; growth, reset and
   * destroy make it stale (an AttentionError if used): take it again after those.
   */
  get keys(): GpuTensor {
    this.#check();
    return this.#storage.views().keys;
  }

  /** The values held, [B, Hkv, length, Dv]: a view, as {@link keys}. */
  get values(): GpuTensor {
    this.#check();
    return this.#storage.views().values;
  }

  /** Forgets the tokens (length 0) and keeps the memory; earlier views go stale. */
  reset(): void {
    this.#check();
    this.#storage.reset();
  }

  /** Returns the storage to the context's pool; earlier views go stale. Idempotent. */
  destroy(): void {
    this.#storage.destroy();
  }

  #check(): void {
    this.#runtime.assertAlive();
    this.#storage.assertUsable('cache', this.#runtime);
  }
}

/**
 * Makes a KV cache (checks the options; takes two pooled buffers).
 * @example
 * const cache = kvCache(runtime, { batch: 1, kvHeads: 2, headDim: 64, capacity: 128, growable: false });
 */
export function kvCache(runtime: GpuRuntime, options: KvCacheOptions): KvCache {
  return new KvCache(runtime, options);
}
