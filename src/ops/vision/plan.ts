/**
 * Plan of a feature-map attention call (shaders/vision.wgsl): which passes run, how each pooling
 * pass lays its workgroups over the kept and the reduced axis, the grids, and the scratch sizes.
 * Pure, from the sizes, the layout, the gates present and the device's limits.
 */
import type { FeatureDims, FeatureLayout } from '../../contract/vision';
import { checkFits, foldGrid, type DeviceLimits } from '../../gpu/limits';

/** One vision_pool dispatch: item k, value r of batch n at n·strideN + k·strideK + r·strideR. */
export interface PoolPass {
  items: number;
  reduce: number;
  strideN: number;
  strideK: number;
  strideR: number;
  /** Items per workgroup and lanes per item: keepTile·lanes = the workgroup size, lanes a power of two. */
  keepTile: number;
  lanes: number;
  /** Lanes of one item are neighbouring invocations (the reduced axis is the contiguous one). */
  lanesInner: boolean;
  blocks: number;
  workgroupCount: number;
  workgroups: [number, number, number];
}

/** A dispatch of `count` items (workgroups or elements) on a folded grid. */
export interface FlatPass {
  count: number;
  workgroups: [number, number, number];
}

export interface VisionPlan {
  workgroupSize: number;
  /** The channel gate: pooling over positions, then the MLP (one workgroup per n); null without. */
  channel: { pool: PoolPass; mlp: FlatPass } | null;
  /** The spatial gate: pooling over channels, then the convolution (one invocation per position). */
  spatial: { pool: PoolPass; conv: FlatPass } | null;
  /** The rescale: `elements` per invocation. */
  scale: FlatPass & { elements: number };
  /** f32 elements of scratch: [N, C, 2] pooled by channel, [N, C] gate, [N, P, 2] maps, [N, P] spatial gate. */
  scratch: { channelPool: number; gate: number; maps: number; spatialGate: number };
}

export const VISION_WORKGROUP_SIZE = 128;
/** Items per workgroup when the kept axis is the contiguous one (neighbouring invocations, neighbouring items). */
export const KEEP_TILE_CONTIGUOUS = 32;
/**
 * Lanes per item when the reduced axis is the contiguous one: 8 neighbouring invocations read 32
 * neighbouring bytes, and the tree over them takes 3 steps. Wider lanes would coalesce more, but
 * every workgroup then reduces fewer items, behind more barriers: on SwiftShader 128 lanes per
 * item made the channel and the spatial gate of a [4, 256, 28, 28] map 4 and 9 times slower than 8.
 */
export const LANES_CONTIGUOUS = 8;
/** Elements each invocation of the rescale takes (strided by the workgroup size, so loads stay coalesced). */
export const SCALE_ELEMENTS = 8;

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);
const pow2AtLeast = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/** Lays one pooling pass out: lanes along the reduced axis when it is contiguous, items along the kept one otherwise. */
export function planPool(
  N: number,
  items: number,
  reduce: number,
  strides: { n: number; k: number; r: number },
  workgroupSize: number,
  limits: DeviceLimits,
): PoolPass {
  const lanes =
    strides.r === 1
      ? Math.min(LANES_CONTIGUOUS, workgroupSize, pow2AtLeast(reduce))
      : workgroupSize / Math.min(KEEP_TILE_CONTIGUOUS, pow2AtLeast(items), workgroupSize);
  const keepTile = workgroupSize / lanes;
  const blocks = ceilDiv(items, keepTile);
  const workgroupCount = N * blocks;
  const workgroups = foldGrid(workgroupCount, limits, 'x', `${workgroupCount} pooling workgroups`);
  return {
    items,
    reduce,
    strideN: strides.n,
    strideK: strides.k,
    strideR: strides.r,
    keepTile,
    lanes,
    lanesInner: strides.r === 1,
    blocks,
    workgroupCount,
    workgroups,
  };
}

function flat(count: number, perWorkgroup: number, limits: DeviceLimits, what: string): FlatPass {
  const groups = ceilDiv(count, perWorkgroup);
  return { count, workgroups: foldGrid(groups, limits, 'x', `${groups} workgroups (${what})`) };
}

/**
 * Plans the passes of a call with a channel gate, a spatial gate, or both (cbam). Throws an
 * AttentionError on 'x' when a grid cannot be dispatched or a scratch buffer cannot be bound.
 * @example
 * planVision({ N: 2, C: 24, H: 13, W: 17 }, 'nchw', { channel: true, spatial: true }, limits).channel!.pool.lanes;
 * // 128: the 221 positions of a channel are contiguous, so all lanes reduce one channel
 */
export function planVision(
  dims: FeatureDims,
  layout: FeatureLayout,
  gates: { channel: boolean; spatial: boolean },
  limits: DeviceLimits,
): VisionPlan {
  const { N, C, H, W } = dims;
  const P = H * W;
  const workgroupSize = Math.min(
    VISION_WORKGROUP_SIZE,
    limits.maxComputeInvocationsPerWorkgroup,
    limits.maxComputeWorkgroupSizeX,
  );
  const nchw = layout === 'nchw';
  const channelPool = planPool(N, C, P, { n: C * P, k: nchw ? P : 1, r: nchw ? 1 : C }, workgroupSize, limits);
  const spatialPool = planPool(N, P, C, { n: C * P, k: nchw ? 1 : C, r: nchw ? P : 1 }, workgroupSize, limits);
  const scratch = {
    channelPool: gates.channel ? N * C * 2 : 0,
    gate: gates.channel ? N * C : 0,
    maps: gates.spatial ? N * P * 2 : 0,
    spatialGate: gates.spatial ? N * P : 0,
  };
  for (const elements of Object.values(scratch)) if (elements > 0) checkFits(limits, 'x', elements, elements * 4);
  return {
    workgroupSize,
    channel: gates.channel ? { pool: channelPool, mlp: flat(N, 1, limits, 'one per batch row') } : null,
    spatial: gates.spatial ? { pool: spatialPool, conv: flat(N * P, workgroupSize, limits, 'N·H·W positions') } : null,
    scale: { ...flat(N * C * P, workgroupSize * SCALE_ELEMENTS, limits, 'N·C·H·W elements'), elements: SCALE_ELEMENTS },
    scratch,
  };
}
