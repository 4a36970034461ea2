/**
 * Tiling plan for the flash kernel (shaders/sdpa.wgsl): pure, from the sizes, the options and the
 * device's limits, so it is unit-tested without a GPU.
 */
import type { SdpaDims } from '../../contract/sdpa';
import { AttentionError } from '../../errors';
import { foldGrid, type DeviceLimits } from '../../gpu/limits';

export interface SdpaTile {
  blockQ: number;
  tileKv: number;
}

export interface SdpaPlan {
  tile: SdpaTile;
  headDimVec4: number;
  valueDimVec4: number;
  kvStride: number;
  workgroupSize: number;
  /** Workgroup memory the tiling uses, in bytes (the shader header's formula). */
  workgroupBytes: number;
  qBlocks: number;
  workgroupCount: number;
  /** The grid, folded into y past the per-dimension limit. */
  workgroups: [number, number, number];
}

/** Tilings in order of preference: large query blocks reuse each K/V tile for more rows. */
export const TILE_PREFERENCES: readonly SdpaTile[] = [
  { blockQ: 32, tileKv: 32 },
  { blockQ: 32, tileKv: 16 },
  { blockQ: 16, tileKv: 32 },
  { blockQ: 16, tileKv: 16 },
  { blockQ: 16, tileKv: 8 },
  { blockQ: 8, tileKv: 8 },
  { blockQ: 8, tileKv: 4 },
  { blockQ: 4, tileKv: 4 },
];

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/** Workgroup memory of one tiling, in bytes, as the header of sdpa.wgsl writes it. */
export function workgroupBytes(tile: SdpaTile, headDimVec4: number, kvStride: number): number {
  return (
    16 * tile.blockQ * headDimVec4 + 16 * tile.tileKv * kvStride + 4 * tile.tileKv * tile.blockQ + 12 * tile.blockQ
  );
}

/**
 * Picks the first tiling that fits the device (invocations, workgroup storage) and folds its grid.
 * Query blocks larger than Lq are skipped, so decoding (Lq = 1) runs 4-row blocks. Throws an
 * AttentionError on `argument` when no tiling fits or the grid cannot be dispatched.
 * @example
 * planSdpa(dims, limits).tile; // { blockQ: 32, tileKv: 32 } for D = Dv = 64 on 32 KiB devices
 */
export function planSdpa(dims: SdpaDims, limits: DeviceLimits, forced?: SdpaTile, argument = 'q'): SdpaPlan {
  const headDimVec4 = ceilDiv(dims.D, 4);
  const valueDimVec4 = ceilDiv(dims.Dv, 4);
  const widest = Math.max(headDimVec4, valueDimVec4);
  const kvStride = widest % 2 === 0 ? widest + 1 : widest;
  const maxInvocations = Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
  const fits = (t: SdpaTile) =>
    (t.blockQ / 4) * valueDimVec4 <= maxInvocations &&
    workgroupBytes(t, headDimVec4, kvStride) <= limits.maxComputeWorkgroupStorageSize;
  const rowsNeeded = Math.max(4, ceilDiv(dims.Lq, 4) * 4);
  const candidates = forced ? [forced] : TILE_PREFERENCES;
  const tile = candidates.find((t) => fits(t) && t.blockQ <= rowsNeeded) ?? candidates.find(fits);
  if (!tile) {
    throw new AttentionError(
      argument,
      `head dims D = ${dims.D}, Dv = ${dims.Dv}`,
      `head dims whose smallest tiling fits this device (${limits.maxComputeWorkgroupStorageSize} bytes of workgroup storage, ${maxInvocations} invocations)`,
    );
  }
  const qBlocks = ceilDiv(dims.Lq, tile.blockQ);
  const workgroupCount = qBlocks * dims.B * dims.Hq;
  const what = `${workgroupCount} query blocks (B·Hq·⌈Lq/${tile.blockQ}⌉)`;
  return {
    tile,
    headDimVec4,
    valueDimVec4,
    kvStride,
    workgroupSize: (tile.blockQ / 4) * valueDimVec4,
    workgroupBytes: workgroupBytes(tile, headDimVec4, kvStride),
    qBlocks,
    workgroupCount,
    workgroups: foldGrid(workgroupCount, limits, argument, what),
  };
}
