/**
 * Tiling plan for the GEMM kernel (shaders/linear.wgsl). Pure: from the sizes and the device's
 * limits, so it is unit-tested without a GPU.
 */
import type { MatmulDims } from '../../contract/linear';
import { AttentionError } from '../../errors';
import { foldGrid, type DeviceLimits } from '../../gpu/limits';

/** A tiling of C: TILE_M rows × TILE_N columns per workgroup, TILE_K per step (all multiples of 4). */
export interface MatmulTile {
  tileM: number;
  tileN: number;
  tileK: number;
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

/**
 * Tilings in order of preference. Long K steps halve the barriers; 64-row tiles reuse each W tile
 * for more rows. Short-M tilings serve decoding (M = batch rows), where 64-row tiles would be
 * mostly padding.
 */
export const MATMUL_TILES: readonly MatmulTile[] = [
  { tileM: 64, tileN: 64, tileK: 32 },
  { tileM: 64, tileN: 64, tileK: 16 },
  { tileM: 32, tileN: 64, tileK: 16 },
  { tileM: 32, tileN: 32, tileK: 16 },
  { tileM: 16, tileN: 64, tileK: 32 },
  { tileM: 16, tileN: 64, tileK: 16 },
  { tileM: 16, tileN: 16, tileK: 16 },
  { tileM: 8, tileN: 8, tileK: 8 },
];

/** Rows at or below which a short-M tiling (TILE_M ≤ 16) is preferred. */
export const SHORT_M = 16;

/** Workgroup memory of one tiling, in bytes, as the header of linear.wgsl writes it. */
export function matmulWorkgroupBytes(tile: MatmulTile): number {
  const kStride = tile.tileK / 4 + 1;
  return 16 * tile.tileM * kStride + 16 * tile.tileN * kStride;
}

/**
 * Picks the first tiling that fits the device (invocations, workgroup storage); short-M tilings
 * first when M ≤ 16. Throws an AttentionError on `argument` when the grid cannot be dispatched.
 * @example
 * planMatmul({ M: 512, N: 768, K: 768 }, device.limits).tile; // { tileM: 64, tileN: 64, tileK: 32 } on 32 KiB devices
 */
export function planMatmul(dims: MatmulDims, limits: DeviceLimits, argument = 'x', forced?: MatmulTile): MatmulPlan {
  const maxInvocations = Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
  const fits = (t: MatmulTile) =>
    (t.tileM / 4) * (t.tileN / 4) <= maxInvocations && matmulWorkgroupBytes(t) <= limits.maxComputeWorkgroupStorageSize;
  const order = dims.M <= SHORT_M ? [...MATMUL_TILES.filter((t) => t.tileM <= SHORT_M), ...MATMUL_TILES] : MATMUL_TILES;
  const tile = (forced ? [forced] : order).find(fits);
  if (!tile) {
    throw new AttentionError(
      argument,
      forced ? `tile ${JSON.stringify(forced)}` : 'a GEMM',
      `a tiling that fits this device (${limits.maxComputeWorkgroupStorageSize} bytes of workgroup storage, ${maxInvocations} invocations)`,
    );
  }
  const tilesN = Math.ceil(dims.N / tile.tileN);
  const tiles = Math.ceil(dims.M / tile.tileM) * tilesN;
  const what = `${tiles} output tiles (⌈M/${tile.tileM}⌉·⌈N/${tile.tileN}⌉ with M = ${dims.M}, N = ${dims.N})`;
  const workgroups = foldGrid(tiles, limits, argument, what);
  return {
    tile,
    kStride: tile.tileK / 4 + 1,
    workgroupSize: (tile.tileM / 4) * (tile.tileN / 4),
    workgroupBytes: matmulWorkgroupBytes(tile),
    tilesN,
    tiles,
    workgroups,
  };
}
