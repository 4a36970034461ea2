/**
 * Tiling plan for the GEMM kernel (shaders/matmul.wgsl), and the shape rules of a linear layer.
 * Pure: from the sizes and the device's limits, so it is unit-tested without a GPU.
 */
import { AttentionError, describe } from '../errors';
import { foldWorkgroups } from '../gpu/runtime';
import type { PlanLimits } from './sdpa-plan';

/** A tiling of C: TILE_M rows × TILE_N columns per workgroup, TILE_K per step (all multiples of 4). */
export interface MatmulTile {
  tileM: number;
  tileN: number;
  tileK: number;
}

/** Sizes of one GEMM: C[M, N] = X[M, K] · W[N, K]ᵀ. */
export interface MatmulDims {
  M: number;
  N: number;
  K: number;
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

/** Workgroup memory of one tiling, in bytes, as the header of matmul.wgsl writes it. */
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
export function planMatmul(dims: MatmulDims, limits: PlanLimits, argument = 'x', forced?: MatmulTile): MatmulPlan {
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
  const workgroups = foldWorkgroups(tiles, limits.maxComputeWorkgroupsPerDimension);
  if (workgroups[1] > limits.maxComputeWorkgroupsPerDimension) {
    throw new AttentionError(
      argument,
      `${tiles} output tiles (⌈M/${tile.tileM}⌉·⌈N/${tile.tileN}⌉ with M = ${dims.M}, N = ${dims.N})`,
      `at most ${limits.maxComputeWorkgroupsPerDimension ** 2}`,
    );
  }
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

/**
 * The shape rules of `linear(x, weight, bias)`, shared by the GPU op and the reference:
 * x [..., K] (rank ≥ 1), weight [N, K], bias [N]. Returns the sizes and the output shape [..., N].
 * @example
 * linearDims([2, 5, 8], [3, 8], [3]); // { M: 10, N: 3, K: 8, outputShape: [2, 5, 3] }
 */
export function linearDims(
  xShape: readonly number[],
  weightShape: readonly number[],
  biasShape?: readonly number[],
): MatmulDims & { outputShape: number[] } {
  if (xShape.length < 1)
    throw new AttentionError('x', `shape ${describe([...xShape])}`, 'a tensor of rank ≥ 1, [..., K]');
  const K = xShape[xShape.length - 1];
  const M = xShape.slice(0, -1).reduce((a, b) => a * b, 1);
  if (weightShape.length !== 2 || weightShape[1] !== K) {
    throw new AttentionError(
      'weight',
      `shape ${describe([...weightShape])}`,
      `[N, ${K}] (nn.Linear layout [out, in], with K = ${K} from x)`,
    );
  }
  const N = weightShape[0];
  if (biasShape !== undefined && (biasShape.length !== 1 || biasShape[0] !== N)) {
    throw new AttentionError('bias', `shape ${describe([...biasShape])}`, `[${N}] (N, the rows of weight)`);
  }
  return { M, N, K, outputShape: [...xShape.slice(0, -1), N] };
}
