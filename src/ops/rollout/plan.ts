/**
 * Plan of an attention-rollout call: the fuse and row passes of shaders/rollout.wgsl for each
 * layer, the GEMM (linear.wgsl) that multiplies them, and where each product goes. Pure, from the
 * sizes and the device's limits.
 *
 * The GEMM computes C = X·Wᵀ. Starting from the last layer, P ← Â_N, then P ← P·Â_l for l = N−1 … 1
 * (so R = Â_N ⋯ Â_1, the last layer on the left): X = P and W = Â_lᵀ, which the row pass writes
 * transposed. The products alternate between the output and one scratch matrix, arranged so the
 * last lands in the output.
 */
import type { RolloutDims } from '../../contract/rollout';
import { checkFits, foldGrid, type DeviceLimits } from '../../gpu/limits';
import { planMatmul, type MatmulPlan } from '../linear/plan';

/** Where a matrix lives: the output, or the product scratch. */
export type RolloutTarget = 'out' | 'product';

/** One layer, last first: its Â written plain into `target` (the first step) or transposed, then multiplied. */
export interface RolloutStep {
  layer: number;
  /** The first step's Â goes straight to `into`; later steps' Âᵀ go to the transposed scratch. */
  into: RolloutTarget | 'transposed';
  /** P(from)·Â_layer → to, once per batch row; null for the first step. */
  product: { from: RolloutTarget; to: RolloutTarget } | null;
}

export interface RolloutPlan {
  workgroupSize: number;
  /** rollout_fuse: one invocation per element of [B, L, L]. */
  fuse: { count: number; workgroups: [number, number, number] };
  /** rollout_rows: one workgroup per row. */
  rows: { count: number; workgroups: [number, number, number] };
  /** The GEMM of the products (M = N = K = L); null for one layer. */
  matmul: MatmulPlan | null;
  steps: RolloutStep[];
  /** f32 elements of scratch: the fused heads, the transposed Â, the other product. */
  scratch: { fused: number; transposed: number; product: number };
}

export const ROLLOUT_WORKGROUP_SIZE = 128;

/**
 * Plans a rollout over `dims.layers` layers. Throws an AttentionError on 'weights' when a grid
 * cannot be dispatched or a scratch matrix cannot be bound.
 * @example
 * planRollout({ layers: 3, B: 1, H: 12, L: 197 }, limits).steps.map((s) => s.product?.to);
 * // [undefined, 'product', 'out']: the last product lands in the output
 */
export function planRollout(dims: RolloutDims, limits: DeviceLimits): RolloutPlan {
  const { layers, B, L } = dims;
  const workgroupSize = Math.min(
    ROLLOUT_WORKGROUP_SIZE,
    limits.maxComputeInvocationsPerWorkgroup,
    limits.maxComputeWorkgroupSizeX,
  );
  const elements = B * L * L;
  checkFits(limits, 'weights', elements, elements * 4);
  const fuseGroups = Math.ceil(elements / workgroupSize);
  const fuse = {
    count: elements,
    workgroups: foldGrid(fuseGroups, limits, 'weights', `${fuseGroups} workgroups (B·L·L elements)`),
  };
  const rows = { count: B * L, workgroups: foldGrid(B * L, limits, 'weights', `${B * L} rows (B·L)`) };
  const products = layers - 1;
  // Product g (1 … layers − 1) lands in the output when layers − 1 − g is even: the last one does.
  const target = (g: number): RolloutTarget => ((products - g) % 2 === 0 ? 'out' : 'product');
  const steps: RolloutStep[] = [{ layer: layers - 1, into: target(0), product: null }];
  for (let g = 1; g <= products; g++) {
    steps.push({ layer: layers - 1 - g, into: 'transposed', product: { from: target(g - 1), to: target(g) } });
  }
  return {
    workgroupSize,
    fuse,
    rows,
    matmul: products > 0 ? planMatmul({ M: L, N: L, K: L }, limits, 'weights') : null,
    steps,
    scratch: { fused: elements, transposed: products > 0 ? elements : 0, product: products > 0 ? elements : 0 },
  };
}
