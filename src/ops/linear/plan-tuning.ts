/**
 * Measured GEMM tilings per context: what `attn.tune()` keeps for linear.wgsl and what
 * `createAttention({ tuning })` gives back. A GEMM's class is its row count's bucket (decoding rows
 * 1–4, 5–8, 9–16, then everything larger); `attn.linear` and a multi-head layer's projections look
 * their class up here, and a tuned tiling that does not fit a call falls back to the plan's default.
 */
import { MATMUL_TILES, matmulTileFits, SHORT_M_TILES, type MatmulTile } from './plan';
import type { DeviceLimits } from '../../gpu/limits';

/** Upper row bounds of the GEMM classes (the last is open). */
const CLASS_ROWS = [4, 8, 16] as const;

/**
 * The class of a GEMM with M rows, as a tuning entry names it.
 * @example
 * linearClass(1); // 'linear M<=4'
 * linearClass(4096); // 'linear M>16'
 */
export function linearClass(M: number): string {
  const bound = CLASS_ROWS.find((r) => M <= r);
  return bound === undefined ? `linear M>${CLASS_ROWS[CLASS_ROWS.length - 1]}` : `linear M<=${bound}`;
}

/** Every class a tuning entry may name. */
export const LINEAR_CLASSES: readonly string[] = [...CLASS_ROWS.map((r) => linearClass(r)), linearClass(Infinity)];

/**
 * Every tiling tune may time and a tuning may name: the plan's own, the former 4 × 4-per-invocation
 * kernel's, and larger workgroups (128 rows or columns) that pay on GPUs with more workgroup memory.
 */
export const LINEAR_TUNE_TILES: readonly MatmulTile[] = [
  ...SHORT_M_TILES,
  ...MATMUL_TILES,
  { tileM: 64, tileN: 64, tileK: 32, rowBlocks: 1, colBlocks: 1 },
  { tileM: 16, tileN: 64, tileK: 32, rowBlocks: 1, colBlocks: 1 },
  { tileM: 64, tileN: 64, tileK: 32, rowBlocks: 1, colBlocks: 2 },
  { tileM: 128, tileN: 64, tileK: 32, rowBlocks: 2, colBlocks: 2 },
  { tileM: 64, tileN: 128, tileK: 32, rowBlocks: 2, colBlocks: 2 },
  { tileM: 128, tileN: 128, tileK: 16, rowBlocks: 2, colBlocks: 2 },
];

const same = (a: MatmulTile, b: Partial<MatmulTile> | null | undefined) =>
  a.tileM === b?.tileM &&
  a.tileN === b?.tileN &&
  a.tileK === b?.tileK &&
  a.rowBlocks === b?.rowBlocks &&
  a.colBlocks === b?.colBlocks;

/** Whether `value` is one of the tilings of {@link LINEAR_TUNE_TILES} (as JSON may have altered it). */
export function isLinearTile(value: unknown): value is MatmulTile {
  return LINEAR_TUNE_TILES.some((t) => same(t, value as Partial<MatmulTile> | null));
}

/** The tilings worth timing for M rows on this device: those that fit, with no more rows than 64 beyond M's need. */
export function linearTuneCandidates(M: number, limits: DeviceLimits): MatmulTile[] {
  const rows = Math.max(4, M);
  return LINEAR_TUNE_TILES.filter((t) => matmulTileFits(t, limits) && (t.tileM <= 16 || rows > 16));
}

const stores = new WeakMap<object, Map<string, MatmulTile>>();

/** The tuned tiling of M rows' class on the context `owner`, if any. */
export function tunedLinearTile(owner: object, M: number): MatmulTile | undefined {
  return stores.get(owner)?.get(linearClass(M));
}

/** Keeps a tiling per class for `owner` (later entries of a class replace earlier ones). */
export function keepLinearTiles(owner: object, entries: readonly { shapeClass: string; tile: MatmulTile }[]): void {
  const store = stores.get(owner) ?? new Map<string, MatmulTile>();
  for (const e of entries) store.set(e.shapeClass, { ...e.tile });
  stores.set(owner, store);
}
