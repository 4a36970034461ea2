/**
 * Tiling plan for the GEMM kernel (shaders/linear.wgsl). Pure: from the sizes and the device's
 * limits (and a measured preference, when the context was tuned), so it is unit-tested without a GPU.
 */
import type { MatmulDims } from '../../contract/linear';
import { AttentionError } from '../../errors';
import { foldGrid, type DeviceLimits } from '../../gpu/limits';

/**
 * A tiling of C: TILE_M rows × TILE_N columns per workgroup, TILE_K per step (all multiples of 4);
 * each invocation holds rowBlocks × colBlocks blocks of 4 × 4 outputs (1 or 2 each), so tileM is a
 * multiple of 4·rowBlocks and tileN of 4·colBlocks.
 */
export interface MatmulTile {
  tileM: number;
  tileN: number;
  tileK: number;
  rowBlocks: 1 | 2;
  colBlocks: 1 | 2;
}

export interface MatmulPlan {
  tile: MatmulTile;
  /** vec4s per tile row in workgroup memory: TILE_K / 4 + 1 (odd). */
  kStride: number;
  workgroupSize: number;
  /** Workgroup memory the tiling uses, in bytes (the shader header's formula). */
  workgroupBytes: number;
  tilesN: number;
  tiles: number;
  workgroups: [number, number, number];
}

const tile = (tileM: number, tileN: number, tileK: number, rowBlocks: 1 | 2, colBlocks: 1 | 2): MatmulTile => ({
  tileM,
  tileN,
  tileK,
  rowBlocks,
  colBlocks,
});

/**
 * Tilings in order of preference for M > 16. 8 × 8 outputs per invocation (2 × 2 blocks) read 16
 * vec4s of workgroup memory per 256 multiply-adds, where 4 × 4 read 8 per 64: measured on
 * SwiftShader at 0.50–0.58× the time of the 4 × 4 kernel (README, Benchmarks). 32-wide K steps
 * halve the barriers; 16 fits 16 KiB devices.
 */
export const MATMUL_TILES: readonly MatmulTile[] = [
  tile(64, 64, 32, 2, 2),
  tile(64, 64, 16, 2, 2),
  tile(32, 32, 16, 2, 2),
  tile(16, 16, 16, 2, 2),
  tile(8, 8, 8, 1, 1),
];

/**
 * Decoding-sized M (≤ 16): the smallest of these whose rows cover M, so few rows are padding
 * (M ≤ 4: 0.40×, M ≤ 8: 0.53× the time of the former 16-row tiles on SwiftShader).
 */
export const SHORT_M_TILES: readonly MatmulTile[] = [
  tile(4, 64, 32, 1, 2),
  tile(8, 64, 32, 2, 1),
  tile(16, 64, 32, 2, 2),
];

/** Rows at or below which a short-M tiling is preferred. */
export const SHORT_M = 16;

/** Workgroup memory of one tiling, in bytes, as the header of linear.wgsl writes it. */
export function matmulWorkgroupBytes(t: MatmulTile): number {
  const kStride = t.tileK / 4 + 1;
  return 16 * t.tileM * kStride + 16 * t.tileN * kStride;
}

/** Invocations of one workgroup: one per rowBlocks × colBlocks group of 4 × 4 blocks. */
export function matmulWorkgroupSize(t: MatmulTile): number {
  return (t.tileM / (4 * t.rowBlocks)) * (t.tileN / (4 * t.colBlocks));
}

/** Whether a tiling fits the device's invocation and workgroup-storage limits. */
export function matmulTileFits(t: MatmulTile, limits: DeviceLimits): boolean {
  const maxInvocations = Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
  return matmulWorkgroupSize(t) <= maxInvocations && matmulWorkgroupBytes(t) <= limits.maxComputeWorkgroupStorageSize;
}

/** The default order for M rows: for M ≤ 16 the short tilings that cover M first. */
function preferenceOrder(M: number): readonly MatmulTile[] {
  if (M > SHORT_M) return MATMUL_TILES;
  return [...SHORT_M_TILES.filter((t) => t.tileM >= M), ...MATMUL_TILES];
}

/**
 * Picks `forced` (it must fit), else `preferred` (a tuned tiling) when it fits, else the first
 * tiling of the default order that fits the device. Throws an AttentionError on `argument` when
 * nothing fits or the grid cannot be dispatched.
 * @example
 * planMatmul({ M: 512, N: 768, K: 768 }, device.limits).tile; // { tileM: 64, tileN: 64, tileK: 32, rowBlocks: 2, colBlocks: 2 } on 32 KiB devices
 */
export function planMatmul(
  dims: MatmulDims,
  limits: DeviceLimits,
  argument = 'x',
  forced?: MatmulTile,
  preferred?: MatmulTile,
): MatmulPlan {
  const fits = (t: MatmulTile) => matmulTileFits(t, limits);
  const order = forced ? [forced] : preferred ? [preferred, ...preferenceOrder(dims.M)] : preferenceOrder(dims.M);
  const chosen = order.find(fits);
  if (!chosen) {
    const maxInvocations = Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
    throw new AttentionError(
      argument,
      forced ? `tile ${JSON.stringify(forced)}` : 'a GEMM',
      `a tiling that fits this device (${limits.maxComputeWorkgroupStorageSize} bytes of workgroup storage, ${maxInvocations} invocations)`,
    );
  }
  const tilesN = Math.ceil(dims.N / chosen.tileN);
  const tiles = Math.ceil(dims.M / chosen.tileM) * tilesN;
  const what = `${tiles} output tiles (⌈M/${chosen.tileM}⌉·⌈N/${chosen.tileN}⌉ with M = ${dims.M}, N = ${dims.N})`;
  const workgroups = foldGrid(tiles, limits, argument, what);
  return {
    tile: chosen,
    kStride: chosen.tileK / 4 + 1,
    workgroupSize: matmulWorkgroupSize(chosen),
    workgroupBytes: matmulWorkgroupBytes(chosen),
    tilesN,
    tiles,
    workgroups,
  };
}
