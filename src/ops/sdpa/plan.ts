/**
 * Tiling plan for the flash kernel (shaders/sdpa.wgsl): pure, from the sizes, the options and the
 * device's limits, so it is unit-tested without a GPU.
 */
import type { SdpaDims } from '../../contract/sdpa';
import { NO_VARIANTS, type ResolvedVariants } from '../../contract/variants';
import { AttentionError } from '../../errors';
import { bindableBytes, checkFits, foldGrid, type DeviceLimits } from '../../gpu/limits';

/** A tiling of the flash kernel: query rows per workgroup, keys per tile, and (split-K) key splits. */
export interface SdpaTile {
  blockQ: number;
  tileKv: number;
  /** Workgroups that share one block's key tiles; planned from the sizes when absent. */
  kvSplits?: number;
}

export interface SdpaPlan {
  tile: SdpaTile;
  headDimVec4: number;
  valueDimVec4: number;
  kvStride: number;
  workgroupSize: number;
  /** Workgroup memory the tiling uses, in bytes (the shader header's formula). */
  workgroupBytes: number;
  /** Packed rows per (batch, kv head): the Lq queries of each of the kv group's query heads. */
  groupRows: number;
  /** Blocks of blockQ packed rows per (batch, kv head). */
  qBlocks: number;
  /**
   * Workgroups per (batch, kv head) and split: qBlocks, or ⌈qBlocks / 2⌉ when each runs two blocks
   * (the first and last, the second and last but one, …): see pairBlocks.
   */
  blockGroups: number;
  /** Split-K: workgroups per block, each walking tilesPerSplit key tiles (1: no split, no merge pass). */
  kvSplits: number;
  tilesPerSplit: number;
  workgroupCount: number;
  /** The grid, folded into y past the per-dimension limit. */
  workgroups: [number, number, number];
  /** The merge pass of split-K (sdpa-merge.wgsl): one invocation per output element; null without a split. */
  merge: { workgroups: [number, number, number]; partialElements: number } | null;
}

/**
 * Tilings in order of preference: large query blocks reuse each K/V tile for more rows; among
 * blocks of few rows (decoding: the packed rows of one kv head), long key tiles keep the barriers
 * per key few.
 */
export const TILE_PREFERENCES: readonly SdpaTile[] = [
  { blockQ: 32, tileKv: 32 },
  { blockQ: 32, tileKv: 16 },
  { blockQ: 16, tileKv: 32 },
  { blockQ: 16, tileKv: 16 },
  { blockQ: 16, tileKv: 8 },
  { blockQ: 8, tileKv: 32 },
  { blockQ: 8, tileKv: 16 },
  { blockQ: 8, tileKv: 8 },
  { blockQ: 8, tileKv: 4 },
  { blockQ: 4, tileKv: 32 },
  { blockQ: 4, tileKv: 16 },
  { blockQ: 4, tileKv: 4 },
];

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/** One invocation's outputs in the flash kernel's P·V: rows (PV_ROWS) × column vec4s (PV_COLS). */
export interface PvBlock {
  rows: 4 | 8 | 16;
  cols: 1 | 2;
}

/**
 * 16 rows where the block has them, as 8 rows × 2 column vec4s where Dv's vec4s pair up (the same
 * 16 accumulators and invocations, 4 vec4 reads per key instead of 5); else 8 rows, else 4.
 * @example
 * pvBlock({ blockQ: 32, tileKv: 32 }, 16); // { rows: 8, cols: 2 }: Dv = 64
 * pvBlock({ blockQ: 32, tileKv: 32 }, 9); // { rows: 16, cols: 1 }: Dv = 36
 */
export function pvBlock(tile: SdpaTile, valueDimVec4: number): PvBlock {
  if (tile.blockQ % 16 === 0) return valueDimVec4 % 2 === 0 ? { rows: 8, cols: 2 } : { rows: 16, cols: 1 };
  return { rows: tile.blockQ % 8 === 0 ? 8 : 4, cols: 1 };
}

/** The flash pass's invocations: one per PvBlock of the block's rows × Dv. */
function flashInvocations(tile: SdpaTile, valueDimVec4: number): number {
  const pv = pvBlock(tile, valueDimVec4);
  return (tile.blockQ / pv.rows) * Math.ceil(valueDimVec4 / pv.cols);
}

/** The flash pass's Q·Kᵀ register blocks (QK_BLOCK, QK_PAIRS of sdpa.wgsl). */
export interface QkBlock {
  /** Rows and keys of a block: 4 × 4, or 8 × 8 (half the workgroup-memory reads per multiply-add). */
  side: 4 | 8;
  /** 8 × 8 only: each block is shared by two invocations, each summing half of d. */
  pairs: boolean;
}

/**
 * 8 × 8 blocks wherever they keep every invocation as busy as 4 × 4 blocks do: whole ones where the
 * invocations divide the tile's 8 × 8 blocks, shared by invocation pairs where the workgroup is
 * exactly twice the blocks; else 4 × 4 (tiles not in multiples of 8, and tilings whose 8 × 8 blocks
 * would leave invocations idle, which a GPU would pay for).
 * @example
 * qkBlock({ blockQ: 32, tileKv: 32 }, 32); // { side: 8, pairs: true }: D = Dv = 64, 16 blocks
 * qkBlock({ blockQ: 32, tileKv: 32 }, 16); // { side: 8, pairs: false }: D = Dv = 32
 * qkBlock({ blockQ: 32, tileKv: 16 }, 64); // { side: 4, pairs: false }: D = 128, 8 blocks
 */
export function qkBlock(tile: SdpaTile, workgroupSize: number): QkBlock {
  if (tile.blockQ % 8 === 0 && tile.tileKv % 8 === 0) {
    const blocks = (tile.blockQ / 8) * (tile.tileKv / 8);
    if (blocks % workgroupSize === 0) return { side: 8, pairs: false };
    if (2 * blocks === workgroupSize) return { side: 8, pairs: true };
  }
  return { side: 4, pairs: false };
}

/**
 * Workgroup memory of one tiling, in bytes, as the header of sdpa.wgsl writes it; `halfTiles`: the Q
 * and K/V tiles hold f16 (f16 arithmetic), 8 bytes a vec4 instead of 16.
 */
export function workgroupBytes(tile: SdpaTile, headDimVec4: number, kvStride: number, halfTiles = false): number {
  const vec4Bytes = halfTiles ? 8 : 16;
  const inputTiles = vec4Bytes * (tile.blockQ * headDimVec4 + tile.tileKv * kvStride);
  return inputTiles + 4 * tile.tileKv * tile.blockQ + 13 * tile.blockQ + 4; // + 4: the lane groups' counter
}

/** The most keys a query keeps in the flash kernel's top-k lists (TOPK_MAX of sdpa.wgsl); more run on the naive kernel. */
export const TOPK_MAX = 32;

/** The merge pass's workgroup size (sdpa-merge.wgsl). */
export const MERGE_WORKGROUP_SIZE = 256;

/** Split-K aims at this many workgroups when B·Hkv·blocks alone would leave the device idle… */
const TARGET_WORKGROUPS = 128;
/** …giving each split at least this many key tiles, so the merge pass stays small beside the work. */
const MIN_TILES_PER_SPLIT = 4;

/**
 * Key splits: 1 when the blocks alone fill TARGET_WORKGROUPS (prefill), else enough to, with at
 * least MIN_TILES_PER_SPLIT tiles each (decoding: few rows, many keys). Returns [splits, tiles per split].
 */
function planSplits(blocks: number, keyTiles: number, forced: number | undefined): [number, number] {
  const wanted = forced ?? Math.min(Math.ceil(TARGET_WORKGROUPS / blocks), Math.floor(keyTiles / MIN_TILES_PER_SPLIT));
  const tilesPerSplit = Math.ceil(keyTiles / Math.max(1, Math.min(wanted, keyTiles)));
  return [Math.ceil(keyTiles / tilesPerSplit), tilesPerSplit];
}

/**
 * Whether each workgroup runs two blocks of rows, p and qBlocks − 1 − p: with causal their key tiles
 * sum to the same count in every workgroup (no long tail of the last blocks), and the fixed costs of
 * a workgroup (zero-initialised workgroup memory, about 1 ms a workgroup on SwiftShader; the Q loads
 * and output writes around the tiles) are paid once per two blocks. Only where half as many
 * workgroups still reach TARGET_WORKGROUPS, so a GPU stays as full, and not with key splits or top-k
 * (whose entry runs one block).
 */
function pairBlocks(qBlocks: number, headsTimesBatch: number, kvSplits: number, topK: boolean): boolean {
  return qBlocks >= 2 && kvSplits === 1 && !topK && ceilDiv(qBlocks, 2) * headsTimesBatch >= TARGET_WORKGROUPS;
}

/**
 * Picks the first tiling that fits the device (invocations, workgroup storage), the key splits and
 * the grid. Rows are packed per kv head (the group's query heads × Lq), and blocks larger than that
 * are skipped, so decoding with one query and 8 heads per kv head runs 8-row blocks. Throws an
 * AttentionError on `argument` when no tiling fits or the grid cannot be dispatched. `halfTiles`:
 * the call runs on f16 tiles (f16Tiles()), whose smaller footprint lets larger tilings fit.
 * @example
 * planSdpa(dims, limits).tile; // { blockQ: 32, tileKv: 32 } for D = Dv = 64 on 32 KiB devices
 * planSdpa(dimsD128, limits, undefined, 'q', NO_VARIANTS, true).tile; // 32 × 32 where f32 tiles take 32 × 16
 */
export function planSdpa(
  dims: SdpaDims,
  limits: DeviceLimits,
  forced?: SdpaTile,
  argument = 'q',
  variants: Pick<ResolvedVariants, 'normalization' | 'topK'> = NO_VARIANTS,
  halfTiles = false,
): SdpaPlan {
  // Sigmoid has no running max to merge by, and top-k keeps each row's list in one workgroup: one split.
  const oneSplit = variants.normalization === 'sigmoid' || variants.topK > 0;
  const headDimVec4 = ceilDiv(dims.D, 4);
  const valueDimVec4 = ceilDiv(dims.Dv, 4);
  const widest = Math.max(headDimVec4, valueDimVec4);
  const kvStride = widest % 2 === 0 ? widest + 1 : widest;
  const maxInvocations = Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
  const fits = (t: SdpaTile) =>
    flashInvocations(t, valueDimVec4) <= maxInvocations &&
    workgroupBytes(t, headDimVec4, kvStride, halfTiles) <= limits.maxComputeWorkgroupStorageSize;
  const groupRows = (dims.Hq / dims.Hkv) * dims.Lq;
  const rowsNeeded = Math.max(4, ceilDiv(groupRows, 4) * 4);
  const candidates = forced ? [forced] : TILE_PREFERENCES;
  const tile = candidates.find((t) => fits(t) && t.blockQ <= rowsNeeded) ?? candidates.find(fits);
  if (!tile) {
    throw new AttentionError(
      argument,
      `head dims D = ${dims.D}, Dv = ${dims.Dv}`,
      `head dims whose smallest tiling fits this device (${limits.maxComputeWorkgroupStorageSize} bytes of workgroup storage, ${maxInvocations} invocations)`,
    );
  }
  const qBlocks = ceilDiv(groupRows, tile.blockQ);
  const blocks = qBlocks * dims.B * dims.Hkv;
  const keyTiles = Math.max(1, ceilDiv(dims.Lk, tile.tileKv)); // a call with no key still runs one (empty) tile range
  let [kvSplits, tilesPerSplit] = oneSplit ? [1, keyTiles] : planSplits(blocks, keyTiles, forced?.kvSplits);
  const rows = dims.B * dims.Hq * dims.Lq;
  // The partials must fit one binding; a planned split that would not is dropped (a forced one is refused).
  const partialElements = rows * kvSplits * Math.max(dims.Dv, 2);
  if (kvSplits > 1 && forced?.kvSplits === undefined && partialElements * 4 > bindableBytes(limits)) {
    [kvSplits, tilesPerSplit] = [1, keyTiles];
  }
  if (kvSplits > 1) checkFits(limits, argument, partialElements, partialElements * 4);
  const blockGroups = pairBlocks(qBlocks, dims.B * dims.Hkv, kvSplits, variants.topK > 0)
    ? ceilDiv(qBlocks, 2)
    : qBlocks;
  const workgroupCount = dims.B * dims.Hkv * blockGroups * kvSplits;
  const what = `${workgroupCount} workgroups (B·Hkv·${blockGroups} block groups·${kvSplits} key splits)`;
  const mergeThreads = rows * dims.Dv;
  const merge =
    kvSplits === 1
      ? null
      : {
          workgroups: foldGrid(ceilDiv(mergeThreads, MERGE_WORKGROUP_SIZE), limits, argument, `${mergeThreads} merges`),
          partialElements,
        };
  return {
    tile: { blockQ: tile.blockQ, tileKv: tile.tileKv },
    headDimVec4,
    valueDimVec4,
    kvStride,
    // sdpa_topk: one invocation per 4 rows (their lists); the flash pass: one per PvBlock.
    workgroupSize: variants.topK > 0 ? tile.blockQ / 4 : flashInvocations(tile, valueDimVec4),
    workgroupBytes: workgroupBytes(tile, headDimVec4, kvStride, halfTiles),
    groupRows,
    qBlocks,
    blockGroups,
    kvSplits,
    tilesPerSplit,
    workgroupCount,
    workgroups: foldGrid(workgroupCount, limits, argument, what),
    merge,
  };
}
