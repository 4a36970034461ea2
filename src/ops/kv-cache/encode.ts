/**
 * The device side of a KV cache: two stores, keys [B, Hkv, capacity, D] and values [B, Hkv,
 * capacity, Dv] (pooled buffers of f32, or of f16 halves), the copies that write them (appends, growth), and the views
 * attention reads. The public class (kv-cache.ts) appends through it; the multi-head layer writes
 * its projections straight into the stores and commits the tokens here.
 *
 * Views: `keys` / `values` are [B, Hkv, length, dim] with element strides [Hkv·capacity·dim,
 * capacity·dim, dim, 1] over a store. Appends write only past the length a view has, so a view
 * stays a snapshot of the tokens it covers; growth (new stores), reset and destroy make every
 * earlier view stale, and using one is an AttentionError. A read() of a view holds its store's
 * buffer: growth or destroy returns the buffer to the pool only once such reads have copied it.
 */
import type { KvCacheDtype, KvCacheState, ResolvedKvCacheOptions } from '../../contract/kv-cache';
import { AttentionError } from '../../errors';
import { withErrorScopes } from '../../gpu/error-scopes';
import type { GpuRuntime, Upstream } from '../../gpu/runtime';
import { GpuTensor } from '../../tensor';
import { blockCopies, elementBytes, type CopyRange } from './plan';

/** What `attn.kvCache()` returns (class KvCache), as the multi-head layer's `cache` option takes it. */
export interface GpuKvCache extends KvCacheState {
  readonly dtype: KvCacheDtype;
  readonly destroyed: boolean;
  readonly keys: GpuTensor;
  readonly values: GpuTensor;
  append(k: GpuTensor, v: GpuTensor): void;
  reset(): void;
  destroy(): void;
}

/** The order of the key columns a writer stores: as given, or a GPT-NeoX layer's pair-adjacent order. */
export type KeyOrder = 'as given' | `GPT-NeoX pair-adjacent (rotary dim ${number})`;

/** Copies from one buffer into another. */
export interface CopyJob {
  source: GPUBuffer;
  target: GPUBuffer;
  ranges: CopyRange[];
}

const storages = new WeakMap<object, KvStorage>();

/** The storage of a cache made by attn.kvCache(), or null for anything else. */
export function storageOf(value: unknown): KvStorage | null {
  return (typeof value === 'object' && value !== null && storages.get(value)) || null;
}

/**
 * Submits `jobs` as one command buffer inside error scopes; the returned promise settles as an
 * output's `ready` does: the first failure of `inputs`, then of the copies (DeviceLostError once lost).
 */
export function submitCopies(runtime: GpuRuntime, label: string, jobs: CopyJob[], inputs: Upstream[]): Promise<void> {
  runtime.assertAlive();
  const { errors } = withErrorScopes(runtime.device, label, () => {
    const encoder = runtime.device.createCommandEncoder({ label });
    for (const { source, target, ranges } of jobs)
      for (const r of ranges) encoder.copyBufferToBuffer(source, r.from, target, r.to, r.bytes);
    runtime.device.queue.submit([encoder.finish()]);
  });
  runtime.onSubmit?.(label);
  const ready = runtime.guard(
    Promise.allSettled([...inputs.map((i) => i.ready), errors]).then((settled) => {
      const failed = settled.find((s) => s.status === 'rejected');
      if (failed) throw failed.reason;
    }),
  );
  ready.catch(() => undefined);
  return ready;
}

export class KvStorage implements KvCacheState {
  readonly batch: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly valueDim: number;
  readonly growable: boolean;
  /** The stores' element type: appends take tensors of it, views have it. */
  readonly dtype: KvCacheDtype;
  length = 0;
  capacity: number;
  /** [B, Hkv, capacity, D] and [B, Hkv, capacity, Dv]; their `ready` is that of the last write. */
  keys: GpuTensor;
  values: GpuTensor;
  keyOrder: KeyOrder = 'as given';
  destroyed = false;
  #epoch = 0;
  #change = '';
  #views: { keys: GpuTensor; values: GpuTensor; length: number; epoch: number } | null = null;

  constructor(
    readonly runtime: GpuRuntime,
    options: ResolvedKvCacheOptions,
    /** The public object whose storage this is (for storageOf). */
    owner: object,
  ) {
    [this.batch, this.kvHeads, this.headDim, this.valueDim] = [
      options.batch,
      options.kvHeads,
      options.headDim,
      options.valueDim,
    ];
    this.growable = options.growable;
    this.dtype = options.dtype;
    this.capacity = options.capacity;
    [this.keys, this.values] = this.#stores(options.capacity);
    storages.set(owner, this);
  }

  /** Refuses a destroyed cache, or one of another context, as argument `argument`. */
  assertUsable(argument: string, runtime: GpuRuntime): void {
    if (this.destroyed) {
      throw new AttentionError(argument, 'a destroyed KV cache', 'a live cache (do not use a cache after destroy())');
    }
    if (this.runtime.id !== runtime.id) {
      throw new AttentionError(
        argument,
        `a KV cache of context #${this.runtime.id}`,
        `one of this context (#${runtime.id})`,
      );
    }
  }

  /** Refuses a writer whose key order differs from what the cache holds (any writer fills an empty cache). */
  assertKeyOrder(order: KeyOrder, argument: string): void {
    if (this.length === 0 || order === this.keyOrder) return;
    throw new AttentionError(
      argument,
      `keys in ${order} column order for a cache holding keys in ${this.keyOrder} order`,
      'one writer kind per cache (a GPT-NeoX rotary layer stores key columns pair-adjacent); reset() it or use another cache',
    );
  }

  /**
   * Makes the stores hold `capacity` tokens (planCapacity's answer): when that is more than they
   * do, new stores receive a copy of what is held (one submission) and earlier views go stale.
   */
  reserve(capacity: number): void {
    if (capacity <= this.capacity) return;
    const blocks = this.batch * this.kvHeads;
    const [keys, values] = this.#stores(capacity);
    const move = (from: GpuTensor, to: GpuTensor, dim: number): CopyJob => ({
      source: from.buffer,
      target: to.buffer,
      ranges: blockCopies(
        blocks,
        dim,
        this.length,
        { byteOffset: 0, rows: this.capacity },
        { byteOffset: 0, rows: capacity },
        0,
        elementBytes(this),
      ),
    });
    const jobs =
      this.length === 0 ? [] : [move(this.keys, keys, this.headDim), move(this.values, values, this.valueDim)];
    const ready = jobs.length ? submitCopies(this.runtime, 'kvCache grow', jobs, [this.keys, this.values]) : null;
    [keys.ready, values.ready] = [ready ?? keys.ready, ready ?? values.ready];
    this.#retire(`the cache grew from ${this.capacity} to ${capacity} tokens`, keys, values);
    this.capacity = capacity;
  }

  /** Copies of k [B, Hkv, n, D] and v [B, Hkv, n, Dv] (contiguous) to positions length … length + n − 1. */
  appendJobs(k: GpuTensor, v: GpuTensor, n: number): CopyJob[] {
    const blocks = this.batch * this.kvHeads;
    const job = (from: GpuTensor, to: GpuTensor, dim: number): CopyJob => ({
      source: from.buffer,
      target: to.buffer,
      ranges: blockCopies(
        blocks,
        dim,
        n,
        { byteOffset: from.byteOffset, rows: n },
        { byteOffset: 0, rows: this.capacity },
        this.length,
        elementBytes(this),
      ),
    });
    return [job(k, this.keys, this.headDim), job(v, this.values, this.valueDim)];
  }

  /** n tokens were written past `length` by the work whose `ready` is given, in `order`. */
  commit(n: number, ready: Promise<void>, order: KeyOrder): void {
    this.length += n;
    this.keyOrder = order;
    this.keys.ready = ready;
    this.values.ready = ready;
  }

  /** Views of the tokens held, [B, Hkv, length, D|Dv]: the same objects until the next write. */
  views(): { keys: GpuTensor; values: GpuTensor } {
    if (this.length === 0) {
      throw new AttentionError('cache', 'an empty cache (length 0)', 'at least one appended token');
    }
    const v = this.#views;
    if (v && v.length === this.length && v.epoch === this.#epoch && !v.keys.destroyed && !v.values.destroyed) return v;
    const keys = this.#view(this.keys, this.headDim);
    const values = this.#view(this.values, this.valueDim);
    this.#views = { keys, values, length: this.length, epoch: this.#epoch };
    return this.#views;
  }

  /** Length 0; the stores are kept, unless a read of a view still holds them (then fresh ones of the same capacity). */
  reset(): void {
    const [keys, values] =
      this.keys.reading || this.values.reading ? this.#stores(this.capacity) : [this.keys, this.values];
    this.#retire('the cache was reset', keys, values);
    this.keys.ready = this.values.ready = Promise.resolve();
    this.length = 0;
    this.keyOrder = 'as given';
  }

  /** Returns the stores to the pool (once reads of views have copied them). */
  destroy(): void {
    if (this.destroyed) return;
    this.#retire('the cache was destroyed', this.keys, this.values);
    this.keys.destroy();
    this.values.destroy();
    this.destroyed = true;
    this.length = 0;
  }

  /** Earlier views go stale for `why`; `keys`/`values` replace the stores (the old ones are destroyed). */
  #retire(why: string, keys: GpuTensor, values: GpuTensor): void {
    this.#epoch++;
    this.#change = why;
    this.#views = null;
    if (keys !== this.keys) this.keys.destroy();
    if (values !== this.values) this.values.destroy();
    [this.keys, this.values] = [keys, values];
  }

  #stores(capacity: number): [GpuTensor, GpuTensor] {
    const store = (dim: number, what: string) => {
      const shape = [this.batch, this.kvHeads, capacity, dim];
      const buffer = this.runtime.pool.acquire(
        shape.reduce((a, b) => a * b, 1) * elementBytes(this),
        `kvCache ${what} ${this.dtype} [${shape.join(', ')}]`,
      );
      return new GpuTensor(this.runtime, buffer, shape, 0, true, undefined, null, this.dtype);
    };
    return [store(this.headDim, 'keys'), store(this.valueDim, 'values')];
  }

  #view(store: GpuTensor, dim: number): GpuTensor {
    const [H, capacity, epoch] = [this.kvHeads, this.capacity, this.#epoch];
    const stale = () => (this.#epoch === epoch ? null : this.#change);
    const strides = [H * capacity * dim, capacity * dim, dim, 1];
    const shape = [this.batch, H, this.length, dim];
    const view = { strides, base: store, stale };
    return new GpuTensor(this.runtime, store.buffer, shape, 0, false, store.ready, view, this.dtype);
  }
}
