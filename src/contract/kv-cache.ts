/**
 * The KV-cache contract, shared by `attn.kvCache` (GPU) and `reference.kvCache` (CPU): the options
 * with their defaults, what an append must look like, when a cache grows and to what capacity, and
 * what a multi-head layer requires of the cache it is given. Nothing here touches a device.
 */
import { AttentionError, describe } from '../errors';
import { checkFlag, checkObject, isPositiveInt } from './checks';

/** Storage types of a cache: float32, or binary16 (tokens rounded to the nearest f16 as they are appended). */
export type KvCacheDtype = 'f32' | 'f16';

/** Options of `attn.kvCache` and `reference.kvCache`. */
export interface KvCacheOptions {
  /** B: sequences decoded together. */
  batch: number;
  /** Hkv: key/value heads. */
  kvHeads: number;
  /** D: the key head dim. */
  headDim: number;
  /** Dv: the value head dim. Default headDim. */
  valueDim?: number;
  /** Tokens held per (batch, head) before the cache first grows. */
  capacity: number;
  /**
   * Storage type: 'f32' (default) or 'f16' (half the memory; what is appended is held rounded to the
   * nearest f16, ties to even; headDim and valueDim must be even).
   */
  dtype?: KvCacheDtype;
  /** Default true: an append past the capacity doubles it. false: such an append is an AttentionError. */
  growable?: boolean;
}

/** Options with defaults applied. */
export interface ResolvedKvCacheOptions {
  batch: number;
  kvHeads: number;
  headDim: number;
  valueDim: number;
  capacity: number;
  dtype: KvCacheDtype;
  growable: boolean;
}

/** What the contract reads of a live cache, on either path. */
export interface KvCacheState {
  readonly batch: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly valueDim: number;
  readonly growable: boolean;
  /** Tokens held per (batch, head). */
  readonly length: number;
  /** Tokens the storage holds before it must grow. */
  readonly capacity: number;
}

const KEYS = ['batch', 'kvHeads', 'headDim', 'valueDim', 'capacity', 'dtype', 'growable'];

function positive(argument: string, value: unknown, what: string): number {
  if (!isPositiveInt(value)) throw new AttentionError(argument, describe(value), `a positive integer (${what})`);
  return value;
}

/**
 * Checks the options of a new cache and applies the defaults.
 * @example
 * validateKvCacheOptions({ batch: 1, kvHeads: 8, headDim: 64, capacity: 256 }).valueDim; // 64
 */
export function validateKvCacheOptions(options: unknown): ResolvedKvCacheOptions {
  const o = checkObject('options', options, KEYS, false);
  const batch = positive('options.batch', o.batch, 'B, sequences decoded together');
  const kvHeads = positive('options.kvHeads', o.kvHeads, 'Hkv, key/value heads');
  const headDim = positive('options.headDim', o.headDim, 'D, the key head dim');
  const valueDim =
    o.valueDim === undefined ? headDim : positive('options.valueDim', o.valueDim, 'Dv, the value head dim');
  const capacity = positive('options.capacity', o.capacity, 'tokens held before the cache grows');
  if (o.dtype !== undefined && o.dtype !== 'f32' && o.dtype !== 'f16') {
    throw new AttentionError('options.dtype', describe(o.dtype), "'f32' (default) or 'f16'");
  }
  const dtype: KvCacheDtype = o.dtype === 'f16' ? 'f16' : 'f32';
  // f16 tokens are moved as whole 32-bit words: every row of keys and values must be a whole number of them.
  for (const [argument, dim] of [
    ['options.headDim', headDim],
    ['options.valueDim', valueDim],
  ] as const) {
    if (dtype === 'f16' && dim % 2 !== 0) {
      throw new AttentionError(
        argument,
        `${dim} (odd) with dtype 'f16'`,
        'an even head dim for an f16 cache (its rows are moved as whole 32-bit words, two halves each)',
      );
    }
  }
  const growable = checkFlag('options.growable', o.growable, true);
  return { batch, kvHeads, headDim, valueDim, capacity, dtype, growable };
}

/**
 * The capacity a cache of `capacity` tokens grows to when it must hold `needed`: doubled until it
 * holds them. Only called for a growable cache (see {@link checkRoom}).
 * @example
 * grownCapacity(16, 17); // 32
 * grownCapacity(16, 100); // 128
 */
export function grownCapacity(capacity: number, needed: number): number {
  let grown = capacity;
  while (grown < needed) grown *= 2;
  return grown;
}

/**
 * Checks that `n` more tokens fit a fixed-capacity cache (a growable one always takes them);
 * `argument` names what brings them (`k` for an append, `x` for a layer's forward).
 */
export function checkRoom(cache: KvCacheState, n: number, argument: string): void {
  if (cache.growable || cache.length + n <= cache.capacity) return;
  throw new AttentionError(
    argument,
    `${n} new tokens for a cache of fixed capacity ${cache.capacity} that holds ${cache.length}`,
    `at most ${cache.capacity - cache.length} (make the cache with a larger capacity, or growable: true)`,
  );
}

function checkShape(argument: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || shape.length !== 4 || !shape.every(isPositiveInt)) {
    throw new AttentionError(argument, `shape ${describe(shape)}`, '4 positive integers [B, Hkv, n, D] (layout bhsd)');
  }
  return shape as number[];
}

/**
 * Checks the tokens of an append, k [B, Hkv, n, D] and v [B, Hkv, n, Dv] (layout bhsd), against
 * the cache, and returns n. A fixed-capacity cache without room is refused on `k`.
 * @example
 * validateKvAppend(cache, [1, 8, 1, 64], [1, 8, 1, 64]); // 1
 */
export function validateKvAppend(cache: KvCacheState, kShape: unknown, vShape: unknown): number {
  const k = checkShape('k', kShape);
  const v = checkShape('v', vShape);
  const mismatch = (argument: string, s: number[], at: number, what: string, want: number) => {
    if (s[at] !== want) {
      throw new AttentionError(argument, `${what} ${s[at]} (shape ${describe(s)})`, `${what} ${want}, as the cache`);
    }
  };
  for (const [argument, s, dim] of [
    ['k', k, cache.headDim],
    ['v', v, cache.valueDim],
  ] as const) {
    mismatch(argument, s, 0, 'batch', cache.batch);
    mismatch(argument, s, 1, 'kv heads', cache.kvHeads);
    mismatch(argument, s, 3, argument === 'k' ? 'head dim' : 'value dim', dim);
  }
  if (v[2] !== k[2]) throw new AttentionError('v', `${v[2]} tokens (shape ${describe(v)})`, `${k[2]} tokens, as k`);
  checkRoom(cache, k[2], 'k');
  return k[2];
}

/**
 * Checks that a cache suits a multi-head layer's forward: batch B, the layer's kv heads and head
 * dim (keys and values alike), and room for the L tokens of x.
 */
export function checkLayerCache(
  cache: KvCacheState,
  sizes: { B: number; L: number; kvHeads: number; headDim: number },
): void {
  const argument = 'options.cache';
  const fields: [string, number, number, string][] = [
    ['batch', cache.batch, sizes.B, 'as x'],
    ['kvHeads', cache.kvHeads, sizes.kvHeads, "the layer's numKvHeads"],
    ['headDim', cache.headDim, sizes.headDim, "the layer's headDim"],
    ['valueDim', cache.valueDim, sizes.headDim, "the layer's headDim (values are headDim wide)"],
  ];
  for (const [name, got, want, why] of fields) {
    if (got !== want) throw new AttentionError(argument, `a cache of ${name} ${got}`, `${name} ${want}, ${why}`);
  }
  checkRoom(cache, sizes.L, 'x');
}
