/**
 * Plan of a Linformer call: the sequence projections of k and v (shaders/linformer.wgsl) and the
 * flash kernel over the r projected rows. Pure, from the sizes and the device's limits.
 */
import type { SdpaDims } from '../../contract/sdpa';
import { AttentionError } from '../../errors';
import { foldGrid, type DeviceLimits } from '../../gpu/limits';
import { planSdpa, type SdpaPlan } from '../sdpa/plan';

/** One projection dispatch: out [B·H, r, dim] = P [r, L] · x[b, h] [L, dim]. */
export interface ProjectionPlan {
  tileP: number;
  tileJ: number;
  tileDVec4: number;
  workgroupSize: number;
  /** Workgroup memory in bytes (the shader header's formula). */
  workgroupBytes: number;
  pTiles: number;
  dTiles: number;
  workgroupCount: number;
  workgroups: [number, number, number];
}

export interface LinformerPlan {
  keys: ProjectionPlan;
  values: ProjectionPlan;
  flash: SdpaPlan;
}

const TILE_J = 32;
const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/** Workgroup memory of a projection tiling, in bytes, as the header of linformer.wgsl writes it. */
export function projectionWorkgroupBytes(tileP: number, tileJ: number, tileDVec4: number): number {
  return 4 * tileP * (tileJ + 1) + 16 * tileJ * tileDVec4;
}

/**
 * Tiles of rows (16 for small r, else 32) and column vec4s (up to 16), halved until the tiling fits
 * the device's invocations and workgroup storage. Throws an AttentionError on `argument` when the
 * grid cannot be dispatched.
 * @example
 * planProjection(8 * 12, 256, 64, limits).workgroups; // [B·H·⌈256/32⌉·1, 1, 1]
 */
export function planProjection(
  batchHeads: number,
  rank: number,
  dim: number,
  limits: DeviceLimits,
  argument = 'k',
): ProjectionPlan {
  const maxInvocations = Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
  let tileP = rank > 16 ? 32 : 16;
  let tileDVec4 = Math.min(16, ceilDiv(dim, 4));
  const fits = () =>
    (tileP / 4) * tileDVec4 <= maxInvocations &&
    projectionWorkgroupBytes(tileP, TILE_J, tileDVec4) <= limits.maxComputeWorkgroupStorageSize;
  while (!fits() && tileDVec4 > 1) tileDVec4 = Math.ceil(tileDVec4 / 2);
  while (!fits() && tileP > 4) tileP /= 2;
  if (!fits()) {
    throw new AttentionError(
      argument,
      'a projection',
      `a tiling that fits this device (${limits.maxComputeWorkgroupStorageSize} bytes of workgroup storage)`,
    );
  }
  const pTiles = ceilDiv(rank, tileP);
  const dTiles = ceilDiv(dim, 4 * tileDVec4);
  const workgroupCount = batchHeads * pTiles * dTiles;
  const what = `${workgroupCount} projection workgroups (B·H·⌈r/${tileP}⌉·⌈dim/${4 * tileDVec4}⌉)`;
  return {
    tileP,
    tileJ: TILE_J,
    tileDVec4,
    workgroupSize: (tileP / 4) * tileDVec4,
    workgroupBytes: projectionWorkgroupBytes(tileP, TILE_J, tileDVec4),
    pTiles,
    dTiles,
    workgroupCount,
    workgroups: foldGrid(workgroupCount, limits, argument, what),
  };
}

/**
 * The two projections and the flash plan of the projected call (`dims.Lk` = r).
 * @example
 * planLinformer({ B: 1, Hq: 8, Hkv: 8, Lq: 4096, Lk: 256, D: 64, Dv: 64 }, limits).flash.tile;
 */
export function planLinformer(dims: SdpaDims, limits: DeviceLimits): LinformerPlan {
  const batchHeads = dims.B * dims.Hkv;
  return {
    keys: planProjection(batchHeads, dims.Lk, dims.D, limits, 'k'),
    values: planProjection(batchHeads, dims.Lk, dims.Dv, limits, 'v'),
    flash: planSdpa(dims, limits),
  };
}
