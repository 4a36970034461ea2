/**
 * The naive kernels' dispatches (shaders/sdpa-naive.wgsl): scores, softmax, output, and optionally
 * the mean of the weights over heads. Takes no buffer but the global-token bitset of a windowed call
 * (returned by release()).
 */
import type { GpuRuntime, KernelDispatch } from '../../gpu/runtime';
import { SHADERS } from '../../shaders';
import { attentionInputs, type AttentionOperands } from './operands';
import { NAIVE_WORKGROUP_SIZE, type NaivePlan } from './plan-naive';

/**
 * The naive passes for an attention call on views: the probabilities land in `weights`
 * [B, Hq, Lq, Lk], the log-sum-exp in `lse` when options.returnLse. With `headMean`, a fourth pass
 * writes the mean of the weights over heads there, [B, Lq, Lk]. The caller submits the dispatches
 * in order with `runtime.run`, then calls release().
 * @example
 * const { dispatches, release } = encodeNaive(runtime, ops, planNaive(ops.dims, device.limits), weights, null);
 */
export function encodeNaive(
  runtime: GpuRuntime,
  ops: AttentionOperands,
  plan: NaivePlan,
  weights: GPUBufferBinding,
  lse: GPUBufferBinding | null,
  headMean?: GPUBufferBinding,
): { dispatches: KernelDispatch[]; release(): void } {
  const inputs = attentionInputs(runtime, ops);
  const overrides = { ...inputs.overrides, WORKGROUP_SIZE: NAIVE_WORKGROUP_SIZE };
  const buffers = { ...inputs.buffers, weights, out: ops.out.resource, lse: lse ?? { buffer: runtime.dummyOutput } };
  const base = { ...inputs.uniforms, scale: ops.options.scale, softcap: ops.options.softcap };
  const pass = (
    entry: string,
    workgroups: [number, number, number],
    out = buffers.out,
    specialised: Record<string, number | boolean> = overrides,
  ): KernelDispatch => {
    const pipeline = runtime.pipelines.get(SHADERS.sdpaNaive, entry, specialised);
    return { pipeline, uniforms: { ...base, groups_x: workgroups[0] }, buffers: { ...buffers, out }, workgroups };
  };
  const dispatches = [
    pass('sdpa_naive_scores', plan.scores),
    pass('sdpa_naive_softmax', plan.softmax),
    pass('sdpa_naive_output', plan.output),
  ];
  // The mean reads no option: one pipeline serves every call.
  if (headMean) {
    dispatches.push(pass('sdpa_naive_head_mean', plan.headMean, headMean, { WORKGROUP_SIZE: NAIVE_WORKGROUP_SIZE }));
  }
  return { dispatches, release: inputs.release };
}
