/**
 * The naive kernels' dispatches (shaders/sdpa-naive.wgsl): scores, softmax, output, and optionally
 * the mean of the weights over heads and the clean-up of returned weights. Takes no buffer but the
 * global-token bitset of a windowed call (scratch of the submission).
 */
import type { GpuRuntime, KernelDispatch } from '../../gpu/runtime';
import { SHADERS } from '../../shaders';
import { attentionInputs, type AttentionOperands } from './operands';
import { NAIVE_WORKGROUP_SIZE, type NaivePlan } from './plan-naive';

/** Where the naive passes write besides the output. */
export interface NaiveOutputs {
  /** [B, Hq, Lq, Lk]: the probabilities (scratch unless `returnWeights`). */
  weights: GPUBufferBinding;
  /** [B, Hq, Lq]: the log-sum-exp, written when options.returnLse. */
  lse: GPUBufferBinding | null;
  /** [B, Lq, Lk]: the mean of the weights over heads, when given. */
  headMean?: GPUBufferBinding;
  /** The weights are read by the caller: a last pass turns removed keys' markers into 0. */
  returnWeights: boolean;
}

/**
 * The naive passes for an attention call on views. The caller submits the dispatches in order with
 * `runtime.submit`.
 * @example
 * const dispatches = encodeNaive(runtime, ops, planNaive(ops.dims, device.limits),
 *   { weights, lse: null, returnWeights: true });
 */
export function encodeNaive(
  runtime: GpuRuntime,
  ops: AttentionOperands,
  plan: NaivePlan,
  outputs: NaiveOutputs,
): KernelDispatch[] {
  const { weights, lse, headMean } = outputs;
  const inputs = attentionInputs(runtime, ops);
  const overrides = {
    ...inputs.overrides,
    HAS_TOPK: ops.options.variants.topK > 0,
    WORKGROUP_SIZE: NAIVE_WORKGROUP_SIZE,
  };
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
  // The mean and the clean-up read no option: one pipeline each serves every call.
  const plain = { WORKGROUP_SIZE: NAIVE_WORKGROUP_SIZE };
  if (headMean) dispatches.push(pass('sdpa_naive_head_mean', plan.headMean, headMean, plain));
  if (outputs.returnWeights) dispatches.push(pass('sdpa_naive_weights', plan.scores, buffers.out, plain));
  return dispatches;
}
