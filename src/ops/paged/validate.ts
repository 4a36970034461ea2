/**
 * Validation of the paged cache's calls on the GPU: the contract's checks plus what only the device
 * has (the pools within its buffer limits, tensors of this context). Nothing past validation throws
 * an AttentionError.
 */
import { validatePagedAttentionOptions, validatePagedKvCacheOptions, type PagedRow } from '../../contract/paged';
import type { ResolvedPagedKvCacheOptions } from '../../contract/paged';
import { AttentionError, describe } from '../../errors';
import { checkAllFit, checkFits } from '../../gpu/limits';
import type { GpuRuntime } from '../../gpu/runtime';
import { checkTensor, F32_OR_F16, GpuTensor } from '../../tensor';
import { pagedStateOf, type PagedState } from './state';

/**
 * Checks `attn.pagedKvCache`'s options, and that each pool fits one buffer binding.
 * @example
 * validatePagedKvCache(runtime, { kvHeads: 8, headDim: 64, pageSize: 16, numPages: 64 }).dtype; // 'f32'
 */
export function validatePagedKvCache(runtime: GpuRuntime, options: unknown): ResolvedPagedKvCacheOptions {
  runtime.assertAlive();
  const o = validatePagedKvCacheOptions(options);
  const elements = o.numPages * o.kvHeads * o.pageSize * Math.max(o.headDim, o.valueDim);
  checkFits(runtime.device.limits, 'options.numPages', elements, elements * (o.dtype === 'f16' ? 2 : 4));
  return o;
}

/** A tensor to append: contiguous, of the cache's dtype, at a whole-word offset. */
function checkToken(s: PagedState, name: string, value: unknown): GpuTensor {
  const dtype = s.options.dtype;
  if (value instanceof GpuTensor && value.dtype !== dtype) {
    throw new AttentionError(
      name,
      `an ${value.dtype} tensor for an ${dtype} cache`,
      `an ${dtype} GpuTensor (appends copy tokens as they are: attn.tensor(data, shape, { dtype: '${dtype}' }))`,
    );
  }
  const t = checkTensor(s.runtime, name, value, false, [dtype]);
  if (t.byteOffset % 4 !== 0) {
    throw new AttentionError(name, `byte offset ${t.byteOffset}`, 'a multiple of 4 (appends copy whole words)');
  }
  return t;
}

/** A checked append: the tensors, the sequence ids (batch rows) and the tokens per sequence. */
export interface ValidatedPagedAppend {
  k: GpuTensor;
  v: GpuTensor;
  ids: number[];
  n: number;
}

/** Checks `cache.append(sequences, k, v)`: live distinct ids, k [B, Hkv, n, D] and v [B, Hkv, n, Dv]. */
export function validatePagedAppend(s: PagedState, sequences: unknown, k: unknown, v: unknown): ValidatedPagedAppend {
  s.book.checkIds('sequences', sequences);
  const ids = sequences as number[];
  const kT = checkToken(s, 'k', k);
  const vT = checkToken(s, 'v', v);
  const { kvHeads, headDim, valueDim } = s.options;
  const n = kT.shape[2];
  const want = (dim: number) => `[${ids.length}, ${kvHeads}, n, ${dim}]`;
  for (const [name, t, dim] of [
    ['k', kT, headDim],
    ['v', vT, valueDim],
  ] as const) {
    const [B, H, m, d] = t.shape;
    if (t.shape.length !== 4 || B !== ids.length || H !== kvHeads || d !== dim || m !== n) {
      const tokens = name === 'v' ? ` with n = ${n}, as k` : ' (one batch row per sequence id, layout bhsd)';
      throw new AttentionError(name, `shape ${describe(t.shape)}`, `${want(dim)}${tokens}`);
    }
  }
  return { k: kT, v: vT, ids, n };
}

/** A checked sdpaPaged call. */
export interface ValidatedPaged {
  q: GpuTensor;
  state: PagedState;
  rows: PagedRow[];
  layout: 'bhsd' | 'bshd';
  returnLse: boolean;
  dims: { B: number; Hq: number; Lq: number; Dv: number };
}

function checkCache(runtime: GpuRuntime, cache: unknown): PagedState {
  const s = pagedStateOf(cache);
  if (!s) throw new AttentionError('cache', describe(cache), 'a cache made by attn.pagedKvCache()');
  if (s.destroyed) throw new AttentionError('cache', 'a destroyed paged KV cache', 'a live cache');
  if (s.runtime.id !== runtime.id) {
    throw new AttentionError('cache', `a cache of context #${s.runtime.id}`, `one of this context (#${runtime.id})`);
  }
  return s;
}

/** Checks `attn.sdpaPaged(q, cache, options)`: q [B, Hq, Lq, D] (or bshd) against the cache and the ids. */
export function validateSdpaPaged(runtime: GpuRuntime, q: unknown, cache: unknown, options: unknown): ValidatedPaged {
  runtime.assertAlive();
  const qT = checkTensor(runtime, 'q', q, false, F32_OR_F16);
  const s = checkCache(runtime, cache);
  const layout = (options as { layout?: unknown } | null | undefined)?.layout === 'bshd' ? 'bshd' : 'bhsd';
  if (qT.shape.length !== 4) {
    throw new AttentionError(
      'q',
      `shape ${describe(qT.shape)}`,
      layout === 'bshd' ? '[B, Lq, Hq, D]' : '[B, Hq, Lq, D]',
    );
  }
  const [B, second, third, D] = qT.shape;
  const [Hq, Lq] = layout === 'bshd' ? [third, second] : [second, third];
  const { kvHeads: Hkv, headDim, valueDim: Dv } = s.options;
  if (D !== headDim) throw new AttentionError('q', `head dim ${D}`, `${headDim}, the cache's headDim`);
  if (Hq % Hkv !== 0) {
    throw new AttentionError('q', `${Hq} query heads`, `a multiple of the cache's ${Hkv} kv heads (grouped-query)`);
  }
  const checked = validatePagedAttentionOptions(options, s.book, { B, Hq, Hkv, Lq, D, Dv });
  checkAllFit(runtime.device.limits, { q: qT, k: s.keys, v: s.values }, B * Hq * Lq * Dv);
  return { q: qT, state: s, ...checked, dims: { B, Hq, Lq, Dv } };
}
