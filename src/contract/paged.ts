/**
 * The paged KV cache's contract: its options, the bookkeeping of pages and sequences (which page
 * holds which tokens: vLLM's and FlashAttention's block table), and the options of attention
 * through it. Pure: the GPU cache (ops/paged) keeps its page table here, and the unit ring tests it
 * without a device.
 */
import { AttentionError, describe } from '../errors';
import { checkObject, isPositiveInt } from './checks';
import type { KvCacheDtype } from './kv-cache';
import { validateSdpaOptions, type ResolvedSdpaOptions, type SdpaDims } from './sdpa';
import type { Alignment, SlidingWindow } from './types';

/** Options of `attn.pagedKvCache`. */
export interface PagedKvCacheOptions {
  /** Hkv: key/value heads. */
  kvHeads: number;
  /** D of the keys. */
  headDim: number;
  /** Dv of the values. Default: headDim. */
  valueDim?: number;
  /** Tokens per page. */
  pageSize: number;
  /** Pages in the pool, shared by every sequence: the pool holds numPages · pageSize tokens. */
  numPages: number;
  /** 'f32' (default) or 'f16' (tokens held rounded to the nearest f16; headDim and valueDim even). */
  dtype?: KvCacheDtype;
}

export interface ResolvedPagedKvCacheOptions {
  kvHeads: number;
  headDim: number;
  valueDim: number;
  pageSize: number;
  numPages: number;
  dtype: KvCacheDtype;
}

const CACHE_KEYS = ['kvHeads', 'headDim', 'valueDim', 'pageSize', 'numPages', 'dtype'];

function positive(argument: string, value: unknown, what: string): number {
  if (!isPositiveInt(value)) throw new AttentionError(argument, describe(value), `a positive integer (${what})`);
  return value;
}

/**
 * Checks `attn.pagedKvCache`'s options and fills the defaults.
 * @example
 * validatePagedKvCacheOptions({ kvHeads: 8, headDim: 128, pageSize: 16, numPages: 256 }).valueDim; // 128
 */
export function validatePagedKvCacheOptions(options: unknown): ResolvedPagedKvCacheOptions {
  const o = checkObject('options', options, CACHE_KEYS, false);
  const kvHeads = positive('options.kvHeads', o.kvHeads, 'Hkv, the key/value heads');
  const headDim = positive('options.headDim', o.headDim, 'D, the key head dim');
  const valueDim =
    o.valueDim === undefined ? headDim : positive('options.valueDim', o.valueDim, 'Dv, the value head dim');
  const pageSize = positive('options.pageSize', o.pageSize, 'tokens per page');
  const numPages = positive('options.numPages', o.numPages, 'pages in the pool');
  if (o.dtype !== undefined && o.dtype !== 'f32' && o.dtype !== 'f16') {
    throw new AttentionError('options.dtype', describe(o.dtype), "'f32' (default) or 'f16'");
  }
  const dtype: KvCacheDtype = o.dtype === 'f16' ? 'f16' : 'f32';
  for (const [argument, dim] of [
    ['options.headDim', headDim],
    ['options.valueDim', valueDim],
  ] as const) {
    if (dtype === 'f16' && dim % 2 !== 0) {
      throw new AttentionError(
        argument,
        `${dim} (odd) with dtype 'f16'`,
        'an even head dim for an f16 cache (its rows are copied as whole 32-bit words, two halves each)',
      );
    }
  }
  return { kvHeads, headDim, valueDim, pageSize, numPages, dtype };
}

/** One sequence of the cache: the pages it holds, in token order, and its token count. */
export interface PagedSequence {
  pages: number[];
  length: number;
}

/** Where an append puts one sequence's new tokens: its pages after the append and its old length. */
export interface SequenceAppend {
  id: number;
  /** Its index in the call's `sequences` (the batch row of k and v). */
  row: number;
  pages: readonly number[];
  from: number;
}

/**
 * Pages and sequences of a paged cache. Pages are handed out lowest number first and come back when
 * a sequence is removed; a sequence takes a new page only when its last one is full.
 */
export class PageBook {
  readonly #sequences = new Map<number, PagedSequence>();
  /** Free pages, the next one to hand out last. */
  #free: number[];
  #nextId = 0;

  constructor(
    readonly numPages: number,
    readonly pageSize: number,
  ) {
    this.#free = PageBook.#allPages(numPages);
  }

  static #allPages(n: number): number[] {
    return Array.from({ length: n }, (_, i) => n - 1 - i);
  }

  get freePages(): number {
    return this.#free.length;
  }

  /** The live sequence ids, in the order they were added. */
  get ids(): number[] {
    return [...this.#sequences.keys()];
  }

  add(): number {
    const id = this.#nextId++;
    this.#sequences.set(id, { pages: [], length: 0 });
    return id;
  }

  /** The sequence `id`, or an AttentionError on `argument`. */
  get(argument: string, id: unknown): PagedSequence {
    const s = typeof id === 'number' ? this.#sequences.get(id) : undefined;
    if (!s) {
      const live = this.ids;
      const known = live.length ? `one of ${live.join(', ')}` : 'none yet: call addSequence() first';
      throw new AttentionError(argument, describe(id), `a live sequence id of this cache (${known})`);
    }
    return s;
  }

  /** Gives the sequence's pages back; the id is never reused. */
  remove(id: unknown): void {
    const s = this.get('sequence', id);
    this.#free.push(...[...s.pages].reverse());
    this.#free.sort((a, b) => b - a);
    this.#sequences.delete(id as number);
  }

  /** Every sequence gone, every page free (ids are not reused). */
  clear(): void {
    this.#sequences.clear();
    this.#free = PageBook.#allPages(this.numPages);
  }

  /**
   * Checks a list of sequence ids for `argument`: live and distinct.
   * @example
   * book.checkIds('options.sequences', [0, 1]); // [seq0, seq1]
   */
  checkIds(argument: string, ids: unknown): PagedSequence[] {
    if (!Array.isArray(ids) || ids.length === 0) {
      throw new AttentionError(argument, describe(ids), 'a non-empty array of sequence ids (one per batch row)');
    }
    const seen = new Set<unknown>();
    return ids.map((id, i) => {
      if (seen.has(id)) throw new AttentionError(argument, `id ${describe(id)} twice`, 'distinct sequence ids');
      seen.add(id);
      return this.get(`${argument}[${i}]`, id);
    });
  }

  /**
   * Plans `n` new tokens for each of `ids`: the pages each sequence will hold (new ones from the free
   * list). Changes nothing; an AttentionError on `argument` when the free pages do not suffice.
   */
  planAppend(ids: readonly number[], n: number, argument: string): SequenceAppend[] {
    const free = [...this.#free];
    let needed = 0;
    const plans = ids.map((id, row) => {
      const s = this.get('sequences', id);
      const pages = [...s.pages];
      const want = Math.ceil((s.length + n) / this.pageSize) - pages.length;
      needed += Math.max(0, want);
      for (let i = 0; i < want && free.length; i++) pages.push(free.pop()!);
      return { id, row, pages, from: s.length };
    });
    if (needed > this.#free.length) {
      throw new AttentionError(
        argument,
        `${n} new tokens per sequence, which need ${needed} new pages of ${this.pageSize} tokens`,
        `at most ${this.#free.length} (the free pages of ${this.numPages}): remove finished sequences, or make a larger pool`,
      );
    }
    return plans;
  }

  /** Applies a planned append of n tokens. */
  commit(plans: readonly SequenceAppend[], n: number): void {
    for (const p of plans) {
      const s = this.get('sequences', p.id);
      const taken = new Set(p.pages.slice(s.pages.length));
      this.#free = this.#free.filter((page) => !taken.has(page));
      s.pages = [...p.pages];
      s.length += n;
    }
  }
}

/** Options of `attn.sdpaPaged`: which sequences, and sdpa's options that make sense per sequence. */
export interface PagedAttentionOptions {
  /** One live sequence id per batch row of q: row b attends over the tokens sequence b holds. */
  sequences: readonly number[];
  /** q's and the output's layout: 'bhsd' (default) or 'bshd'. */
  layout?: 'bhsd' | 'bshd';
  scale?: number;
  softcap?: number;
  /** Per sequence: query i (at position p = i + offset) sees keys j ≤ p. */
  causal?: boolean;
  /** Per sequence: offset 0 or length − Lq (`'lower-right'`, decoding's). */
  alignment?: Alignment;
  window?: SlidingWindow;
  dilation?: number;
  returnLse?: boolean;
  sinkTokens?: number;
  alibiSlopes?: readonly number[] | Float32Array | Float64Array;
  sinks?: readonly number[] | Float32Array | Float64Array;
}

const ATTENTION_KEYS = [
  'sequences',
  'layout',
  'scale',
  'softcap',
  'causal',
  'alignment',
  'window',
  'dilation',
  'returnLse',
  'sinkTokens',
  'alibiSlopes',
  'sinks',
];

const REFUSED: Record<string, string> = {
  mask: 'no mask: each sequence has its own length; causal, window and sinkTokens shape each one',
  globalTokens: 'no global tokens: run attn.sdpa on one sequence for Longformer attention',
  returnWeights: 'no weights: sdpaPaged returns the output and the log-sum-exp only',
};

/** One batch row of a paged call: its sequence's pages and length, and the options resolved for them. */
export interface PagedRow {
  row: number;
  pages: readonly number[];
  dims: SdpaDims;
  options: ResolvedSdpaOptions;
}

/**
 * Checks sdpaPaged's options against q's dims ([B, Hq, Lq, D] resolved by the caller) and the
 * cache: one live, distinct sequence per batch row; resolves sdpa's options per sequence length.
 */
export function validatePagedAttentionOptions(
  options: unknown,
  book: PageBook,
  dims: Omit<SdpaDims, 'Lk'>,
): { rows: PagedRow[]; layout: 'bhsd' | 'bshd'; returnLse: boolean } {
  if (typeof options === 'object' && options !== null) {
    const o = options as Record<string, unknown>;
    for (const [key, why] of Object.entries(REFUSED)) {
      if (o[key] !== undefined) throw new AttentionError(`options.${key}`, describe(o[key]), why);
    }
  }
  const o = checkObject('options', options, ATTENTION_KEYS, false) as unknown as PagedAttentionOptions;
  const sequences = book.checkIds('options.sequences', o.sequences);
  if (sequences.length !== dims.B) {
    throw new AttentionError(
      'options.sequences',
      `${sequences.length} ids for q's batch of ${dims.B}`,
      `${dims.B} ids, one per batch row of q`,
    );
  }
  const { sequences: _ids, ...sdpaOptions } = o;
  const longest = Math.max(1, ...sequences.map((s) => s.length));
  const all = validateSdpaOptions(sdpaOptions, { ...dims, B: 1, Lk: longest });
  const rows = sequences.map((s, row) => {
    const rowDims = { ...dims, B: 1, Lk: s.length };
    return { row, pages: s.pages, dims: rowDims, options: validateSdpaOptions(sdpaOptions, rowDims) };
  });
  return { rows, layout: all.layout, returnLse: all.returnLse };
}
