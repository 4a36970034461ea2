/**
 * Plan of an additive call: the two projection GEMMs (linear.wgsl), the tiling of the additive
 * kernel (shaders/additive.wgsl) and, with returnWeights, the grid of its weights pass. Pure: from
 * the sizes and the device's limits, so it is unit-tested without a GPU.
 */
import type { ScoreDims } from '../../contract/score-functions';
import { AttentionError } from '../../errors';
import { checkFits, foldGrid, type DeviceLimits } from '../../gpu/limits';
import { planMatmul, type MatmulPlan } from '../linear/plan';

/** A tiling of the additive kernel: queries per workgroup and keys per tile (both multiples of 4). */
export interface AdditiveTile {
  blockQ: number;
  tileKv: number;
}

export interface AdditivePlan {
  /** pq = q·wqᵀ + bias [B·Lq, A] and pk = k·wkᵀ [B·Lk, A]. */
  projectQ: MatmulPlan;
  projectK: MatmulPlan;
  tile: AdditiveTile;
  attDimVec4: number;
  valueDimVec4: number;
  kvStride: number;
  workgroupSize: number;
  /** Workgroup memory the tiling uses, in bytes (the shader header's formula). */
  workgroupBytes: number;
  qBlocks: number;
  workgroups: [number, number, number];
  /** The weights pass (returnWeights): one invocation per (b, i, j); null without it. */
  weights: { workgroups: [number, number, number]; elements: number } | null;
}

/**
 * Tilings in order of preference: large blocks reuse each pk tile for more queries. Each block of
 * 4 queries × 4 keys is one invocation's work per tile.
 */
export const ADDITIVE_TILES: readonly AdditiveTile[] = [
  { blockQ: 32, tileKv: 32 },
  { blockQ: 32, tileKv: 16 },
  { blockQ: 16, tileKv: 32 },
  { blockQ: 16, tileKv: 16 },
  { blockQ: 8, tileKv: 16 },
  { blockQ: 8, tileKv: 8 },
  { blockQ: 4, tileKv: 8 },
  { blockQ: 4, tileKv: 4 },
];

/** Invocations of the weights pass's workgroups. */
export const WEIGHTS_WORKGROUP_SIZE = 256;

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/** Workgroup memory of one tiling, in bytes, as the header of additive.wgsl writes it. */
export function additiveWorkgroupBytes(tile: AdditiveTile, attDimVec4: number, valueDimVec4: number): number {
  const kvStride = kvStrideOf(attDimVec4, valueDimVec4);
  const { blockQ, tileKv } = tile;
  return (
    16 * blockQ * attDimVec4 +
    16 * tileKv * kvStride +
    4 * tileKv * blockQ +
    16 * blockQ * valueDimVec4 +
    16 * attDimVec4 +
    12 * blockQ
  );
}

/** vec4s per key row of kv_tile: the wider of pk and v rows, made odd (neighbouring keys, other banks). */
function kvStrideOf(attDimVec4: number, valueDimVec4: number): number {
  const widest = Math.max(attDimVec4, valueDimVec4);
  return widest % 2 === 0 ? widest + 1 : widest;
}

/**
 * Picks the first tiling that fits the device (workgroup storage; its (blockQ/4)·(tileKv/4)
 * invocations), checks the projections' scratch and the weights can exist, and plans every grid.
 * Throws an AttentionError when the call cannot run on this device.
 * @example
 * planAdditive({ B: 2, Lq: 77, Lk: 50, Dq: 40, Dk: 24, Dv: 40, A: 24 }, device.limits, false).tile;
 * // { blockQ: 32, tileKv: 32 }
 */
export function planAdditive(dims: ScoreDims, limits: DeviceLimits, returnWeights: boolean): AdditivePlan {
  const { B, Lq, Lk, A, Dv } = dims;
  const attDimVec4 = ceilDiv(A, 4);
  const valueDimVec4 = ceilDiv(Dv, 4);
  const maxInvocations = Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
  const fits = (t: AdditiveTile) =>
    (t.blockQ / 4) * (t.tileKv / 4) <= maxInvocations &&
    additiveWorkgroupBytes(t, attDimVec4, valueDimVec4) <= limits.maxComputeWorkgroupStorageSize;
  // Small Lq: a block no larger than needed (padding rows cost as much as real ones).
  const rowsNeeded = Math.max(4, ceilDiv(Lq, 4) * 4);
  const tile = ADDITIVE_TILES.find((t) => fits(t) && t.blockQ <= rowsNeeded) ?? ADDITIVE_TILES.find(fits);
  if (!tile) {
    throw new AttentionError(
      'options.wq',
      `attention dim A = ${A} with Dv = ${Dv}`,
      `A and Dv whose smallest tiling fits this device (${limits.maxComputeWorkgroupStorageSize} bytes of workgroup storage)`,
    );
  }
  checkFits(limits, 'q', B * Lq * A, B * Lq * A * 4); // the projection pq
  checkFits(limits, 'k', B * Lk * A, B * Lk * A * 4); // the projection pk
  const qBlocks = ceilDiv(Lq, tile.blockQ);
  const count = B * qBlocks;
  const workgroups = foldGrid(count, limits, 'q', `${count} workgroups (B·⌈Lq/${tile.blockQ}⌉)`);
  return {
    projectQ: planMatmul({ M: B * Lq, N: A, K: dims.Dq }, limits, 'q'),
    projectK: planMatmul({ M: B * Lk, N: A, K: dims.Dk }, limits, 'k'),
    tile,
    attDimVec4,
    valueDimVec4,
    kvStride: kvStrideOf(attDimVec4, valueDimVec4),
    workgroupSize: (tile.blockQ / 4) * (tile.tileKv / 4),
    workgroupBytes: additiveWorkgroupBytes(tile, attDimVec4, valueDimVec4),
    qBlocks,
    workgroups,
    weights: returnWeights ? planWeights(B * Lq * Lk, limits) : null,
  };
}

function planWeights(elements: number, limits: DeviceLimits): AdditivePlan['weights'] {
  checkFits(limits, 'options.returnWeights', elements, elements * 4);
  const groups = ceilDiv(elements, WEIGHTS_WORKGROUP_SIZE);
  const what = `${elements} weights (${groups} workgroups)`;
  return { workgroups: foldGrid(groups, limits, 'options.returnWeights', what), elements };
}
