/**
 * The well-known block-sparse patterns as host block masks for `blockMask` (docs/semantics.md §6b):
 * Sparse Transformers' strided and fixed patterns (Child et al. 2019) and BigBird's window + global +
 * random blocks (Zaheer et al. 2020), for self-attention over `length` tokens in square blocks.
 * Each returns `{ mask: { data, shape: [1, 1, n, n] }, blockSize: [blockSize, blockSize] }`, n = ⌈length / blockSize⌉.
 */
import { AttentionError, describe } from '../errors';
import { checkObject, isPositiveInt } from './checks';
import type { BlockMask } from './variants';

interface Common {
  /** Tokens (Lq = Lk). */
  length: number;
  /** Tokens per block, both ways. */
  blockSize: number;
}

function positive(argument: string, value: unknown, what: string): number {
  if (!isPositiveInt(value)) throw new AttentionError(argument, describe(value), `a positive integer (${what})`);
  return value;
}

function build(blocks: number, blockSize: number, on: (a: number, c: number) => boolean): BlockMask {
  const data = new Uint8Array(blocks * blocks);
  for (let a = 0; a < blocks; a++) for (let c = 0; c < blocks; c++) data[a * blocks + c] = on(a, c) ? 1 : 0;
  return { mask: { data, shape: [1, 1, blocks, blocks] }, blockSize: [blockSize, blockSize] };
}

function common(
  name: string,
  options: unknown,
  keys: string[],
): { o: Record<string, unknown>; n: number; size: number } {
  const o = checkObject('options', options, ['length', 'blockSize', 'causal', ...keys], false);
  const length = positive('options.length', o.length, 'tokens');
  const size = positive('options.blockSize', o.blockSize, `tokens per block of ${name}`);
  if (o.causal !== undefined && typeof o.causal !== 'boolean') {
    throw new AttentionError('options.causal', describe(o.causal), 'true or false');
  }
  return { o, n: Math.ceil(length / size), size };
}

/**
 * Strided (Sparse Transformers): query block a sees key block c when |a − c| < stride (its local
 * band) or a − c is a multiple of stride (the strided "column"); with `causal` (default true) c ≤ a.
 * @example
 * sparsePatterns.strided({ length: 1024, blockSize: 64, stride: 4 });
 */
function strided(options: Common & { stride: number; causal?: boolean }): BlockMask {
  const { o, n, size } = common('the strided pattern', options, ['stride']);
  const stride = positive('options.stride', o.stride, 'blocks between strided key blocks');
  const causal = o.causal !== false;
  return build(n, size, (a, c) => (!causal || c <= a) && (Math.abs(a - c) < stride || (a - c) % stride === 0));
}

/**
 * Fixed (Sparse Transformers): blocks fall in segments of `stride` blocks; a query block sees every
 * key block of its own segment, and the last `summary` (default 1) blocks of every segment; with
 * `causal` (default true) c ≤ a.
 * @example
 * sparsePatterns.fixed({ length: 1024, blockSize: 32, stride: 8, summary: 1 });
 */
function fixed(options: Common & { stride: number; summary?: number; causal?: boolean }): BlockMask {
  const { o, n, size } = common('the fixed pattern', options, ['stride', 'summary']);
  const stride = positive('options.stride', o.stride, 'blocks per segment');
  const summary = o.summary === undefined ? 1 : positive('options.summary', o.summary, 'summary blocks per segment');
  if (summary > stride) throw new AttentionError('options.summary', String(summary), `at most stride = ${stride}`);
  const causal = o.causal !== false;
  const sameSegment = (a: number, c: number) => Math.floor(a / stride) === Math.floor(c / stride);
  return build(n, size, (a, c) => (!causal || c <= a) && (sameSegment(a, c) || c % stride >= stride - summary));
}

/** A small seeded generator (mulberry32): the same random blocks for the same seed everywhere. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * BigBird: a sliding window of `window` blocks (odd, default 3) around the diagonal, the first
 * `global` blocks (default 1) seen by and seeing every block, and `random` (default 2) key blocks per
 * query block drawn without repeats from a generator seeded with `seed` (default 0). Not causal.
 * @example
 * sparsePatterns.bigBird({ length: 4096, blockSize: 64, window: 3, global: 2, random: 3, seed: 7 });
 */
function bigBird(options: Common & { window?: number; global?: number; random?: number; seed?: number }): BlockMask {
  const { o, n, size } = common('BigBird', options, ['window', 'global', 'random', 'seed']);
  if (o.causal !== undefined)
    throw new AttentionError('options.causal', describe(o.causal), 'absent: BigBird is not causal');
  const window = o.window === undefined ? 3 : positive('options.window', o.window, 'window blocks, odd');
  if (window % 2 === 0) throw new AttentionError('options.window', String(window), 'an odd number of blocks');
  const count = (name: string, fallback: number) => {
    const x = o[name] ?? fallback;
    if (!Number.isInteger(x) || (x as number) < 0)
      throw new AttentionError(`options.${name}`, describe(x), 'an integer ≥ 0');
    return x as number;
  };
  const [global, random, seed] = [count('global', 1), count('random', 2), count('seed', 0)];
  const next = seeded(seed);
  const chosen = Array.from({ length: n }, () => {
    const picks = new Set<number>();
    while (picks.size < Math.min(random, n)) picks.add(Math.floor(next() * n));
    return picks;
  });
  const half = (window - 1) / 2;
  return build(n, size, (a, c) => Math.abs(a - c) <= half || a < global || c < global || chosen[a].has(c));
}

/** Builders of the well-known block-sparse patterns, as `blockMask` values. */
export const sparsePatterns = { strided, fixed, bigBird };
