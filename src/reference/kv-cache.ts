/**
 * A KV cache in host memory, float64: the same options, checks, growth and errors as `attn.kvCache`,
 * so the reference defines what the GPU cache holds. `keys` and `values` are copies [B, Hkv,
 * length, D|Dv]; the multi-head reference layer appends to it and attends over it. With dtype 'f16'
 * every appended value is held rounded to the nearest f16 (ties to even), as the GPU's f16 stores.
 */
import { roundF16 } from '../contract/f16';
import {
  grownCapacity,
  validateKvAppend,
  validateKvCacheOptions,
  type KvCacheDtype,
  type KvCacheOptions,
  type KvCacheState,
} from '../contract/kv-cache';
import type { HostResult, HostTensor } from '../contract/types';
import { AttentionError } from '../errors';
import { checkHost } from './host';

/**
 * A KV cache of host arrays, made by `reference.kvCache(options)`.
 * @example
 * const cache = reference.kvCache({ batch: 1, kvHeads: 2, headDim: 4, capacity: 8 });
 * cache.append(k, v);                                   // k, v: host tensors [1, 2, n, 4]
 * reference.sdpa(q, cache.keys, cache.values, { causal: true, alignment: 'lower-right' });
 */
export class ReferenceKvCache implements KvCacheState {
  readonly batch: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly valueDim: number;
  readonly growable: boolean;
  readonly dtype: KvCacheDtype;
  #capacity: number;
  #length = 0;
  #keys: Float64Array;
  #values: Float64Array;
  #destroyed = false;

  constructor(options: KvCacheOptions) {
    const o = validateKvCacheOptions(options);
    [this.batch, this.kvHeads, this.headDim, this.valueDim] = [o.batch, o.kvHeads, o.headDim, o.valueDim];
    this.growable = o.growable;
    this.dtype = o.dtype;
    this.#capacity = o.capacity;
    this.#keys = new Float64Array(this.#rows(o.capacity) * o.headDim);
    this.#values = new Float64Array(this.#rows(o.capacity) * o.valueDim);
  }

  /** Tokens held per (batch, head). */
  get length(): number {
    return this.#length;
  }

  /** Tokens held before the next growth (doubled by an append that passes it, when growable). */
  get capacity(): number {
    return this.#capacity;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /**
   * Appends k [B, Hkv, n, D] and v [B, Hkv, n, Dv] (layout bhsd) after the tokens held; an
   * AttentionError (the cache unchanged) for other sizes, or past a fixed capacity.
   */
  append(k: HostTensor, v: HostTensor): void {
    this.assertLive('cache');
    const kT = checkHost('k', k, true);
    const vT = checkHost('v', v, true);
    const n = validateKvAppend(this, kT.shape, vT.shape);
    if (this.#length + n > this.#capacity) this.#grow(grownCapacity(this.#capacity, this.#length + n));
    this.#write(this.#keys, kT.data, n, this.headDim);
    this.#write(this.#values, vT.data, n, this.valueDim);
    this.#length += n;
  }

  /** The keys held, [B, Hkv, length, D] (a copy). */
  get keys(): HostResult {
    return this.#read(this.#keys, this.headDim);
  }

  /** The values held, [B, Hkv, length, Dv] (a copy). */
  get values(): HostResult {
    return this.#read(this.#values, this.valueDim);
  }

  /** Forgets every token (length 0); keeps the capacity. */
  reset(): void {
    this.assertLive('cache');
    this.#length = 0;
  }

  /** Frees the arrays; every later use is an AttentionError. */
  destroy(): void {
    this.#destroyed = true;
    this.#length = 0;
    this.#keys = new Float64Array(0);
    this.#values = new Float64Array(0);
  }

  /** @internal Refuses a destroyed cache as argument `argument`. */
  assertLive(argument: string): void {
    if (this.#destroyed) {
      throw new AttentionError(argument, 'a destroyed KV cache', 'a live cache (do not use a cache after destroy())');
    }
  }

  #rows(capacity: number): number {
    return this.batch * this.kvHeads * capacity;
  }

  #grow(capacity: number): void {
    const move = (from: Float64Array, dim: number) => {
      const to = new Float64Array(this.#rows(capacity) * dim);
      for (let bh = 0; bh < this.batch * this.kvHeads; bh++) {
        const held = from.subarray(bh * this.#capacity * dim, (bh * this.#capacity + this.#length) * dim);
        to.set(held, bh * capacity * dim);
      }
      return to;
    };
    this.#keys = move(this.#keys, this.headDim);
    this.#values = move(this.#values, this.valueDim);
    this.#capacity = capacity;
  }

  /** Copies n tokens of each (b, h) of `data` [B, Hkv, n, dim] to positions length … length + n − 1 (rounded to f16 in an f16 cache). */
  #write(store: Float64Array, data: HostTensor['data'], n: number, dim: number): void {
    const held = this.dtype === 'f16' ? roundF16 : (x: number) => x;
    for (let bh = 0; bh < this.batch * this.kvHeads; bh++) {
      const at = (bh * this.#capacity + this.#length) * dim;
      for (let e = 0; e < n * dim; e++) store[at + e] = held(data[bh * n * dim + e]);
    }
  }

  #read(store: Float64Array, dim: number): HostResult {
    this.assertLive('cache');
    if (this.#length === 0) {
      throw new AttentionError('cache', 'an empty cache (length 0)', 'at least one appended token');
    }
    const out = new Float64Array(this.#rows(this.#length) * dim);
    for (let bh = 0; bh < this.batch * this.kvHeads; bh++) {
      const from = bh * this.#capacity * dim;
      out.set(store.subarray(from, from + this.#length * dim), bh * this.#length * dim);
    }
    return { data: out, shape: [this.batch, this.kvHeads, this.#length, dim] };
  }
}

/**
 * A KV cache in host memory (float64), for `reference.sdpa` and `reference.multiHeadAttention`.
 * @example
 * const cache = kvCache({ batch: 1, kvHeads: 8, headDim: 64, capacity: 256 });
 */
export function kvCache(options: KvCacheOptions): ReferenceKvCache {
  return new ReferenceKvCache(options);
}
