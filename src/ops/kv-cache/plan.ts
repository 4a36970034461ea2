/**
 * The pure part of a KV cache on the device: how far its storage may grow on this device, the
 * capacity an append needs, and the buffer copies that write tokens into the stores (an append)
 * or move what is held into larger ones (growth). Unit-tested without a GPU.
 *
 * A store is [B, Hkv, capacity, dim] of f32, or of f16 (dims even, so a row is whole 32-bit words
 * and every copy below moves whole words), row-major: the tokens of one (batch, head) are one
 * contiguous block of capacity·dim elements, so an append of n tokens in layout bhsd is one copy
 * of n·dim elements per (batch, head), and growth one copy of length·dim elements per (batch, head).
 */
import { grownCapacity, type KvCacheState, type ResolvedKvCacheOptions } from '../../contract/kv-cache';
import { AttentionError } from '../../errors';
import { bindableBytes, checkFits, type DeviceLimits } from '../../gpu/limits';

type Sizes = Pick<ResolvedKvCacheOptions, 'batch' | 'kvHeads' | 'headDim' | 'valueDim' | 'dtype'>;

/** Bytes of one element of a store. */
export const elementBytes = (sizes: Pick<Sizes, 'dtype'>): number => (sizes.dtype === 'f16' ? 2 : 4);

/** The most tokens a store can hold on the device: the wider store (keys or values) within one binding. */
export function maxCapacity(sizes: Sizes, limits: DeviceLimits): number {
  const elementsPerToken = sizes.batch * sizes.kvHeads * Math.max(sizes.headDim, sizes.valueDim);
  const byBytes = Math.floor(bindableBytes(limits) / (elementsPerToken * elementBytes(sizes)));
  const byIndex = Math.floor((2 ** 32 - 1) / elementsPerToken);
  return Math.min(byBytes, byIndex);
}

/**
 * Checks that stores of `capacity` tokens can exist on the device (a new cache's capacity).
 * @example
 * checkCapacity({ batch: 1, kvHeads: 8, headDim: 64, valueDim: 64 }, 4096, limits, 'options.capacity');
 */
export function checkCapacity(sizes: Sizes, capacity: number, limits: DeviceLimits, argument: string): void {
  const elements = sizes.batch * sizes.kvHeads * capacity * Math.max(sizes.headDim, sizes.valueDim);
  checkFits(limits, argument, elements, elements * elementBytes(sizes));
}

/**
 * The capacity a cache needs for `n` more tokens: its own when they fit, else doubled until they
 * do (the contract's rule), held to {@link maxCapacity}. An AttentionError on `argument` (what
 * brings the tokens) when even that cannot hold them; the contract has already refused a fixed
 * cache without room.
 * @example
 * planCapacity({ ...sizes, length: 16, capacity: 16, growable: true }, 1, limits, 'k'); // 32
 */
export function planCapacity(
  cache: KvCacheState & Pick<Sizes, 'dtype'>,
  n: number,
  limits: DeviceLimits,
  argument: string,
): number {
  const needed = cache.length + n;
  if (needed <= cache.capacity) return cache.capacity;
  const most = maxCapacity(cache, limits);
  if (needed > most) {
    throw new AttentionError(
      argument,
      `${n} new tokens for a cache holding ${cache.length} (${needed} in all)`,
      `at most ${most} tokens in all: a store [B, Hkv, capacity, max(D, Dv)] of ${cache.dtype} must fit one buffer binding (${bindableBytes(limits)} bytes on this device)`,
    );
  }
  return Math.min(grownCapacity(cache.capacity, needed), most);
}

/** One copyBufferToBuffer: `bytes` from byte `from` of the source to byte `to` of the target. */
export interface CopyRange {
  from: number;
  to: number;
  bytes: number;
}

/** Where tokens lie: blocks of `rows` tokens of `dim` elements each, the first block at `byteOffset`. */
export interface BlockLayout {
  byteOffset: number;
  rows: number;
}

/**
 * The copies of tokens [0, count) of every one of `blocks` blocks of `source` to tokens
 * [start, start + count) of the same block of `target`, elements of `bytes` each (4: f32, 2: f16);
 * ranges that continue each other merge.
 * @example
 * // append 1 token to a [1, 2, 8, 4] store holding 3: one 16-byte copy per head
 * blockCopies(2, 4, 1, { byteOffset: 0, rows: 1 }, { byteOffset: 0, rows: 8 }, 3);
 * // [{ from: 0, to: 48, bytes: 16 }, { from: 16, to: 176, bytes: 16 }]
 */
export function blockCopies(
  blocks: number,
  dim: number,
  count: number,
  source: BlockLayout,
  target: BlockLayout,
  start: number,
  elementBytes = 4,
): CopyRange[] {
  const ranges: CopyRange[] = [];
  const row = dim * elementBytes;
  const bytes = count * row;
  for (let block = 0; block < blocks; block++) {
    const from = source.byteOffset + block * source.rows * row;
    const to = target.byteOffset + (block * target.rows + start) * row;
    const last = ranges[ranges.length - 1];
    if (last && last.from + last.bytes === from && last.to + last.bytes === to) last.bytes += bytes;
    else ranges.push({ from, to, bytes });
  }
  return ranges;
}
