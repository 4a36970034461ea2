/**
 * What a paged cache holds on the device and in its book, reachable from the public object: the
 * cache's own methods and `attn.sdpaPaged` share it.
 */
import type { PageBook, ResolvedPagedKvCacheOptions } from '../../contract/paged';
import type { GpuRuntime } from '../../gpu/runtime';
import type { GpuTensor } from '../../tensor';

export interface PagedState {
  runtime: GpuRuntime;
  options: ResolvedPagedKvCacheOptions;
  book: PageBook;
  /** The pools [numPages, Hkv, pageSize, D|Dv] as owned tensors; their `ready` is that of the last write. */
  keys: GpuTensor;
  values: GpuTensor;
  destroyed: boolean;
}

const states = new WeakMap<object, PagedState>();

/** Links a public cache object to its state. */
export function registerPaged(owner: object, state: PagedState): void {
  states.set(owner, state);
}

/** The state of a cache made by attn.pagedKvCache(), or null for anything else. */
export function pagedStateOf(value: unknown): PagedState | null {
  return (typeof value === 'object' && value !== null && states.get(value)) || null;
}
