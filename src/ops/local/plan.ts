/**
 * Tiling plan for the neighbourhood kernel (shaders/local.wgsl): pure, from the sizes, the window
 * and the device's limits, so it is unit-tested without a GPU.
 */
import type { NeighborhoodDims } from '../../contract/neighborhood';
import { AttentionError } from '../../errors';
import { foldGrid, type DeviceLimits } from '../../gpu/limits';

/** Queries per workgroup: TILE_Y × TILE_X, in dilation-group coordinates. */
export interface LocalTile {
  y: number;
  x: number;
}

export interface NeighborhoodPlan {
  tile: LocalTile;
  /** Head-dim vec4s loaded per chunk (a power of two ≤ 16). */
  chunkVec4: number;
  workgroupSize: number;
  /** Workgroup memory in bytes (the shader header's formula). */
  workgroupBytes: number;
  /** Tiles per dilation group along y and x. */
  tiles: [number, number];
  qkChunks: number;
  vChunks: number;
  workgroupCount: number;
  /** The grid, folded into y past the per-dimension limit. */
  workgroups: [number, number, number];
}

/** 2-D tiles in order of preference: more queries per workgroup share more keys. */
export const TILES_2D: readonly LocalTile[] = [
  { y: 8, x: 8 },
  { y: 4, x: 8 },
  { y: 4, x: 4 },
  { y: 2, x: 4 },
  { y: 2, x: 2 },
  { y: 1, x: 2 },
  { y: 1, x: 1 },
];
/** Row tiles for maps with Y = 1 (1-D calls). */
export const TILES_1D: readonly LocalTile[] = [
  { y: 1, x: 64 },
  { y: 1, x: 32 },
  { y: 1, x: 16 },
  { y: 1, x: 8 },
  { y: 1, x: 4 },
  { y: 1, x: 2 },
  { y: 1, x: 1 },
];

const MAX_CHUNK_VEC4 = 16;

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);
const nextPow2 = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/**
 * Workgroup memory of one configuration, in bytes, as the header of local.wgsl writes it:
 * 16·TY·TX·CHUNK (Q chunk) + 16·(TY+ky−1)(TX+kx−1)·CHUNK (K/V region chunk) + 4·TY·TX·ky·kx (scores).
 * @example
 * localWorkgroupBytes({ y: 4, x: 4 }, [13, 13], 1); // 16·(16 + 256)·1 + 4·16·169 = 4352 + 10816 = 15168
 */
export function localWorkgroupBytes(tile: LocalTile, kernel: readonly [number, number], chunkVec4: number): number {
  const queries = tile.y * tile.x;
  const region = (tile.y + kernel[0] - 1) * (tile.x + kernel[1] - 1);
  return 16 * (queries + region) * chunkVec4 + 4 * queries * kernel[0] * kernel[1];
}

function workgroupSizeFor(tile: LocalTile, kernel: readonly [number, number], maxInvocations: number): number {
  const items = tile.y * tile.x * kernel[0] * kernel[1];
  return Math.min(maxInvocations, Math.max(32, Math.min(128, nextPow2(items))));
}

/** The largest power-of-two chunk ≤ `wanted` for which `tile` fits, or 0. */
function largestChunk(tile: LocalTile, kernel: readonly [number, number], wanted: number, bytes: number): number {
  for (let chunk = wanted; chunk >= 1; chunk /= 2) {
    if (localWorkgroupBytes(tile, kernel, chunk) <= bytes) return chunk;
  }
  return 0;
}

/**
 * The first tile in preference order (skipping tiles past a dilation group's size, rounded up to a
 * power of two) that fits at all, with the largest chunk it fits with. Sharing keys between more
 * queries saves more global traffic than a larger chunk saves barriers.
 */
function chooseTile(
  dims: NeighborhoodDims,
  kernel: readonly [number, number],
  dilation: readonly [number, number],
  limits: DeviceLimits,
) {
  const wanted = Math.min(MAX_CHUNK_VEC4, nextPow2(Math.max(ceilDiv(dims.D, 4), ceilDiv(dims.Dv, 4))));
  const groupY = nextPow2(ceilDiv(dims.Y, dilation[0]));
  const groupX = nextPow2(ceilDiv(dims.X, dilation[1]));
  const list = (dims.Y === 1 ? TILES_1D : TILES_2D).filter((t) => t.y <= groupY && t.x <= groupX);
  for (const tile of list) {
    const chunk = largestChunk(tile, kernel, wanted, limits.maxComputeWorkgroupStorageSize);
    if (chunk > 0) return { tile, chunk };
  }
  return null;
}

/**
 * Picks a tile and head-dim chunk that fit the device's workgroup storage and invocations, and
 * folds the grid (an AttentionError on 'q' when it cannot be dispatched).
 * @example
 * planNeighborhood(dims, [7, 7], [1, 1], device.limits).tile; // { y: 8, x: 8 } for D = 32 on 32 KiB
 */
export function planNeighborhood(
  dims: NeighborhoodDims,
  kernel: readonly [number, number],
  dilation: readonly [number, number],
  limits: DeviceLimits,
): NeighborhoodPlan {
  const maxInvocations = Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
  const chosen = chooseTile(dims, kernel, dilation, limits);
  if (!chosen) {
    throw new AttentionError(
      'options.kernel',
      `kernel ${kernel[0]}×${kernel[1]}, which needs ${localWorkgroupBytes({ y: 1, x: 1 }, kernel, 1)} bytes of workgroup memory even for one query per workgroup`,
      `a kernel that fits this device's ${limits.maxComputeWorkgroupStorageSize} bytes of workgroup storage`,
    );
  }
  const { tile, chunk } = chosen;
  const tiles: [number, number] = [
    ceilDiv(ceilDiv(dims.Y, dilation[0]), tile.y),
    ceilDiv(ceilDiv(dims.X, dilation[1]), tile.x),
  ];
  const workgroupCount = dims.B * dims.Hq * dilation[0] * dilation[1] * tiles[0] * tiles[1];
  return {
    tile,
    chunkVec4: chunk,
    workgroupSize: workgroupSizeFor(tile, kernel, maxInvocations),
    workgroupBytes: localWorkgroupBytes(tile, kernel, chunk),
    tiles,
    qkChunks: ceilDiv(ceilDiv(dims.D, 4), chunk),
    vChunks: ceilDiv(ceilDiv(dims.Dv, 4), chunk),
    workgroupCount,
    workgroups: foldGrid(workgroupCount, limits, 'q', `${workgroupCount} query tiles (B·Hq·dy·dx·tiles)`),
  };
}
