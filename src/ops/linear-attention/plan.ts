/**
 * Plan of a linear-attention call (shaders/linear-attention.wgsl): the tile (rows per chunk, value
 * columns per workgroup) that fits the device's workgroup storage, and how the rows are cut into
 * segments so that enough workgroups run at once. Pure, from the sizes and the device's limits.
 */
import type { SdpaDims } from '../../contract/sdpa';
import { AttentionError } from '../../errors';
import { bindableBytes, checkFits, foldGrid, type DeviceLimits } from '../../gpu/limits';

/** Rows per chunk, and value columns per workgroup in vec4s (TILE_DV = 4·valueTileVec4). */
export interface LinearAttentionTile {
  chunk: number;
  valueTileVec4: number;
}

/** One dispatch: the rows of each (batch, head) cut into `segments` runs of `segmentChunks` chunks. */
export interface LinearAttentionPass {
  segments: number;
  segmentChunks: number;
  workgroupCount: number;
  workgroups: [number, number, number];
}

export interface LinearAttentionPlan {
  tile: LinearAttentionTile;
  headDimVec4: number;
  dvTiles: number;
  workgroupSize: number;
  /** Workgroup memory of the tiling, in bytes (the shader header's formula). */
  workgroupBytes: number;
  /** The pass that sums each key segment's φ(k)ᵀv and φ(k) into partials; null when causal runs one segment. */
  state: LinearAttentionPass | null;
  output: LinearAttentionPass;
  /** Partials held per (batch, kv head); 0 without a state pass. */
  kvSegments: number;
  /** f32 elements of the partials scratch: B·Hkv·kvSegments·D·(Dv + 1), the z partials from zAt. */
  partialElements: number;
  zAt: number;
}

/**
 * Tilings in order of preference (each with valueTileVec4 capped at ⌈Dv/4⌉): wide value tiles
 * recompute φ(q)·φ(k) for fewer workgroups; long chunks take fewer barriers per row.
 */
export const LINEAR_ATTENTION_TILES: readonly LinearAttentionTile[] = [
  { chunk: 32, valueTileVec4: 8 },
  { chunk: 16, valueTileVec4: 8 },
  { chunk: 16, valueTileVec4: 4 },
  { chunk: 8, valueTileVec4: 4 },
  { chunk: 8, valueTileVec4: 2 },
  { chunk: 4, valueTileVec4: 2 },
  { chunk: 4, valueTileVec4: 1 },
];

/** Small workgroups walk the chunks fastest on SwiftShader; 64 invocations still fill a GPU's SIMD units. */
export const LINEAR_ATTENTION_WORKGROUP_SIZE = 64;
/** Segments aim at this many workgroups per pass… */
const TARGET_WORKGROUPS = 128;
/** …with at least this many chunks each, and at most MAX_SEGMENTS per (batch, head): the causal
 * output pass sums up to MAX_SEGMENTS − 1 partials before its first chunk. */
const MIN_SEGMENT_CHUNKS = 4;
export const MAX_SEGMENTS = 64;

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/** Workgroup memory of a tiling, in bytes, as the header of linear-attention.wgsl writes it. */
export function linearAttentionWorkgroupBytes(tile: LinearAttentionTile, headDimVec4: number): number {
  const { chunk, valueTileVec4 } = tile;
  return (
    16 * (4 * headDimVec4 * valueTileVec4 + headDimVec4 + 2 * chunk * headDimVec4 + chunk * valueTileVec4) +
    4 * chunk * chunk
  );
}

/** Cuts `rows` into segments for `units` workgroups per segment index (batch · heads · value tiles). */
function cut(
  rows: number,
  chunk: number,
  units: number,
  most = MAX_SEGMENTS,
): { segments: number; segmentChunks: number } {
  const chunks = ceilDiv(rows, chunk);
  const wanted = Math.min(
    ceilDiv(TARGET_WORKGROUPS, units),
    most,
    Math.max(1, Math.floor(chunks / MIN_SEGMENT_CHUNKS)),
  );
  const segmentChunks = ceilDiv(chunks, Math.max(1, wanted));
  return { segments: ceilDiv(chunks, segmentChunks), segmentChunks };
}

function pass(segments: number, segmentChunks: number, units: number, limits: DeviceLimits): LinearAttentionPass {
  const workgroupCount = segments * units;
  const what = `${workgroupCount} workgroups (B·heads·${segments} segments·value tiles)`;
  return { segments, segmentChunks, workgroupCount, workgroups: foldGrid(workgroupCount, limits, 'q', what) };
}

/**
 * Picks the tiling and the segments. Throws an AttentionError on 'q' when no tiling fits the
 * device (D too large for its workgroup storage) or a grid cannot be dispatched, and on 'k' when
 * even one segment's partials cannot be bound.
 * @example
 * planLinearAttention({ B: 1, Hq: 8, Hkv: 8, Lq: 1024, Lk: 1024, D: 64, Dv: 64 }, true, limits).tile;
 * // { chunk: 16, valueTileVec4: 8 } on 32 KiB devices
 */
export function planLinearAttention(dims: SdpaDims, causal: boolean, limits: DeviceLimits): LinearAttentionPlan {
  const headDimVec4 = ceilDiv(dims.D, 4);
  const valueVec4 = ceilDiv(dims.Dv, 4);
  const candidates = LINEAR_ATTENTION_TILES.map((t) => ({ ...t, valueTileVec4: Math.min(t.valueTileVec4, valueVec4) }));
  const tile = candidates.find(
    (t) => linearAttentionWorkgroupBytes(t, headDimVec4) <= limits.maxComputeWorkgroupStorageSize,
  );
  if (!tile) {
    const smallest = linearAttentionWorkgroupBytes(candidates[candidates.length - 1], headDimVec4);
    throw new AttentionError(
      'q',
      `head dim D = ${dims.D} (its smallest tiling needs ${smallest} bytes of workgroup storage)`,
      `a head dim whose tiling fits this device's ${limits.maxComputeWorkgroupStorageSize} bytes`,
    );
  }
  const dvTiles = ceilDiv(valueVec4, tile.valueTileVec4);
  const { B, Hq, Hkv, D, Dv } = dims;
  const fits = (segments: number) => B * Hkv * segments * D * (Dv + 1) * 4 <= bindableBytes(limits);
  let output: LinearAttentionPass;
  let state: LinearAttentionPass | null = null;
  let kvSegments = 0;
  if (causal) {
    let { segments, segmentChunks } = cut(dims.Lq, tile.chunk, B * Hq * dvTiles);
    if (segments > 1 && !fits(segments - 1)) [segments, segmentChunks] = [1, ceilDiv(dims.Lq, tile.chunk)];
    kvSegments = segments - 1;
    if (kvSegments > 0) state = pass(kvSegments, segmentChunks, B * Hkv * dvTiles, limits);
    output = pass(segments, segmentChunks, B * Hq * dvTiles, limits);
  } else {
    let keys = cut(dims.Lk, tile.chunk, B * Hkv * dvTiles);
    if (!fits(keys.segments)) keys = { segments: 1, segmentChunks: ceilDiv(dims.Lk, tile.chunk) };
    kvSegments = keys.segments;
    state = pass(keys.segments, keys.segmentChunks, B * Hkv * dvTiles, limits);
    const queries = cut(dims.Lq, tile.chunk, B * Hq * dvTiles);
    output = pass(queries.segments, queries.segmentChunks, B * Hq * dvTiles, limits);
  }
  const zAt = B * Hkv * kvSegments * D * Dv;
  const partialElements = zAt + B * Hkv * kvSegments * D;
  if (partialElements > 0) checkFits(limits, 'k', partialElements, partialElements * 4);
  return {
    tile,
    headDimVec4,
    dvTiles,
    workgroupSize: Math.min(
      LINEAR_ATTENTION_WORKGROUP_SIZE,
      limits.maxComputeInvocationsPerWorkgroup,
      limits.maxComputeWorkgroupSizeX,
    ),
    workgroupBytes: linearAttentionWorkgroupBytes(tile, headDimVec4),
    state,
    output,
    kvSegments,
    partialElements,
    zAt,
  };
}
