/**
 * The dispatches of an attention-rollout call: per layer, last first, rollout_fuse and rollout_rows
 * (shaders/rollout.wgsl), then the GEMM of linear.wgsl once per batch row for the product. One
 * `runtime.submit`; nothing here takes a buffer: the op passes its scratch and output.
 */
import type { ValidatedRollout } from '../../contract/rollout';
import type { GpuRuntime, KernelDispatch } from '../../gpu/runtime';
import { SHADERS } from '../../shaders';
import type { GpuTensor } from '../../tensor';
import { encodeMatmul, type MatmulOperand } from '../linear/encode';
import type { RolloutPlan, RolloutTarget } from './plan';

/** Scratch of the submission (product and transposed absent for one layer) and the output [B, L, L]. */
export interface RolloutBuffers {
  fused: GPUBufferBinding;
  transposed: GPUBufferBinding | null;
  product: GPUBufferBinding | null;
  out: GPUBufferBinding;
}

const FUSION = { mean: 0, max: 1, min: 2 };

/**
 * The dispatches of `call` under `plan`, writing R [B, L, L] to `buffers.out`.
 * @example
 * const dispatches = encodeRollout(runtime, call, planRollout(call.dims, limits), buffers);
 */
export function encodeRollout(
  runtime: GpuRuntime,
  call: ValidatedRollout<GpuTensor>,
  plan: RolloutPlan,
  buffers: RolloutBuffers,
): KernelDispatch[] {
  const { B, H, L } = call.dims;
  const where = (t: RolloutTarget | 'transposed') =>
    t === 'out' ? buffers.out : t === 'product' ? buffers.product! : buffers.transposed!;
  const base = { heads: H, length: L, discard_count: call.discardCount };
  const size = plan.workgroupSize;
  const dispatches: KernelDispatch[] = [];
  for (const step of plan.steps) {
    const weights = call.weights[step.layer].binding();
    dispatches.push({
      pipeline: runtime.pipelines.get(SHADERS.rollout, 'rollout_fuse', {
        WORKGROUP_SIZE: size,
        FUSION: FUSION[call.headFusion],
      }),
      uniforms: { ...base, total: plan.fuse.count, groups_x: plan.fuse.workgroups[0], w_offset: weights.elementOffset },
      buffers: { weights: weights.resource, fused_out: buffers.fused },
      workgroups: plan.fuse.workgroups,
    });
    const transpose = step.into === 'transposed';
    dispatches.push({
      pipeline: runtime.pipelines.get(SHADERS.rollout, 'rollout_rows', {
        WORKGROUP_SIZE: size,
        RESIDUAL: call.residual,
        TRANSPOSE: transpose,
      }),
      uniforms: { ...base, total: plan.rows.count, groups_x: plan.rows.workgroups[0], w_offset: 0 },
      buffers: { fused: buffers.fused, out: where(step.into) },
      workgroups: plan.rows.workgroups,
    });
    if (!step.product) continue;
    const [from, to] = [where(step.product.from), where(step.product.to)];
    for (let b = 0; b < B; b++) {
      const at = b * L * L;
      const operand = (buffer: GPUBufferBinding): MatmulOperand => ({ buffer, elementOffset: at });
      dispatches.push(
        encodeMatmul(
          runtime,
          {
            ...{ x: operand(from), xStrideM: L, M: L, K: L, weight: operand(where('transposed')), N: L },
            out: { ...operand(to), rowsPerBatch: L, headDim: L, strideB: L * L, strideL: L, strideH: 0 },
          },
          plan.matmul!,
        ),
      );
    }
  }
  return dispatches;
}
