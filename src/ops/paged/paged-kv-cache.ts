/**
 * `attn.pagedKvCache`: a KV cache for many concurrent sequences, as vLLM's and FlashAttention's
 * paged caches: one pool of pages, keys [numPages, Hkv, pageSize, D] and values [numPages, Hkv,
 * pageSize, Dv], and per sequence the list of pages that hold its tokens (its block table). A
 * sequence takes a page when its last one is full and gives its pages back when removed, so memory
 * follows the tokens held rather than the longest sequence. `attn.sdpaPaged` reads through the tables.
 * validate → plan (pageCopies) → one copy per (sequence, head, page touched), one submission.
 */
import { PageBook, type PagedKvCacheOptions, type ResolvedPagedKvCacheOptions } from '../../contract/paged';
import type { KvCacheDtype } from '../../contract/kv-cache';
import { AttentionError } from '../../errors';
import type { GpuRuntime } from '../../gpu/runtime';
import { GpuTensor } from '../../tensor';
import { submitCopies } from '../kv-cache/encode';
import { pageCopies } from './plan';
import { registerPaged, type PagedState } from './state';
import { validatePagedAppend, validatePagedKvCache } from './validate';

/**
 * A paged KV cache on the device.
 * @example
 * const cache = attn.pagedKvCache({ kvHeads: 8, headDim: 128, pageSize: 16, numPages: 512 });
 * const a = cache.addSequence(), b = cache.addSequence();
 * cache.append([a, b], k, v);                    // k [2, 8, n, 128]: n tokens to each
 * const o = attn.sdpaPaged(q, cache, { sequences: [a, b], causal: true, alignment: 'lower-right' });
 * cache.removeSequence(a);                       // its pages go back to the pool
 */
export class PagedKvCache {
  readonly #state: PagedState;

  /** @internal Use `attn.pagedKvCache(options)`. */
  constructor(runtime: GpuRuntime, options: PagedKvCacheOptions) {
    const o = validatePagedKvCache(runtime, options);
    const pool = (dim: number, what: string) => {
      const shape = [o.numPages, o.kvHeads, o.pageSize, dim];
      const bytes = shape.reduce((a, b) => a * b, 1) * (o.dtype === 'f16' ? 2 : 4);
      const buffer = runtime.pool.acquire(bytes, `pagedKvCache ${what} ${o.dtype} [${shape.join(', ')}]`);
      return new GpuTensor(runtime, buffer, shape, 0, true, undefined, null, o.dtype);
    };
    const keys = pool(o.headDim, 'keys');
    const values = pool(o.valueDim, 'values');
    this.#state = { runtime, options: o, book: new PageBook(o.numPages, o.pageSize), keys, values, destroyed: false };
    registerPaged(this, this.#state);
  }

  get kvHeads(): number {
    return this.#state.options.kvHeads;
  }
  get headDim(): number {
    return this.#state.options.headDim;
  }
  get valueDim(): number {
    return this.#state.options.valueDim;
  }
  get pageSize(): number {
    return this.#state.options.pageSize;
  }
  get numPages(): number {
    return this.#state.options.numPages;
  }
  get dtype(): KvCacheDtype {
    return this.#state.options.dtype;
  }
  get destroyed(): boolean {
    return this.#state.destroyed;
  }
  /** Pages no sequence holds. */
  get freePages(): number {
    return this.#state.book.freePages;
  }
  /** The live sequence ids. */
  get sequences(): number[] {
    return this.#state.book.ids;
  }

  /** A new, empty sequence; returns its id (ids are never reused). */
  addSequence(): number {
    this.#check();
    return this.#state.book.add();
  }

  /** Gives the sequence's pages back to the pool; the id is gone. */
  removeSequence(id: number): void {
    this.#check();
    this.#state.book.remove(id);
  }

  /** Tokens the sequence holds. */
  length(id: number): number {
    return this.#state.book.get('sequence', id).length;
  }

  /** The pages that hold the sequence's tokens, in order (its block table): token j is in page table[j / pageSize]. */
  pageTable(id: number): number[] {
    return [...this.#state.book.get('sequence', id).pages];
  }

  /**
   * Appends n tokens to each sequence: row b of k [B, Hkv, n, D] and v [B, Hkv, n, Dv] (contiguous,
   * of the cache's dtype) goes after the tokens sequences[b] holds, taking free pages as needed. An
   * AttentionError (nothing changed or enqueued) for unknown or repeated ids, other sizes, a dtype
   * other than the cache's, or too few free pages.
   */
  append(sequences: readonly number[], k: GpuTensor, v: GpuTensor): void {
    this.#check();
    const s = this.#state;
    const call = validatePagedAppend(s, sequences, k, v);
    const plans = s.book.planAppend(call.ids, call.n, 'k');
    const bytesPerElement = s.options.dtype === 'f16' ? 2 : 4;
    const job = (from: GpuTensor, to: GpuTensor, dim: number) => ({
      source: from.buffer,
      target: to.buffer,
      ranges: pageCopies(plans, call.n, from.byteOffset, { ...s.options, dim, bytesPerElement }),
    });
    const jobs = [job(call.k, s.keys, s.options.headDim), job(call.v, s.values, s.options.valueDim)];
    const ready = submitCopies(s.runtime, 'pagedKvCache append', jobs, [call.k, call.v, s.keys, s.values]);
    s.book.commit(plans, call.n);
    s.keys.ready = s.values.ready = ready;
  }

  /** Removes every sequence; the pool is kept. */
  reset(): void {
    this.#check();
    this.#state.book.clear();
  }

  /** Returns the pools to the context's pool. Idempotent. */
  destroy(): void {
    const s = this.#state;
    if (s.destroyed) return;
    s.keys.destroy();
    s.values.destroy();
    s.book.clear();
    s.destroyed = true;
  }

  #check(): void {
    this.#state.runtime.assertAlive();
    if (this.#state.destroyed) {
      throw new AttentionError('cache', 'a destroyed paged KV cache', 'a live cache (do not use it after destroy())');
    }
  }
}
