/**
 * `attn.sdpaNaive`: the three-pass attention that materialises the scores (QKᵀ, softmax, ·V).
 * The baseline the flash kernel is measured against, and the path that returns the weights.
 */
import { AttentionError } from '../errors';
import { foldWorkgroups, type GpuRuntime, type KernelDispatch } from '../gpu/runtime';
import { SHADERS } from '../shaders';
import { GpuTensor } from '../tensor';
import { attentionInputs, operandsOf, validateAttentionCall, type AttentionOperands, type SdpaOptions } from './sdpa';
import type { SdpaDims } from './sdpa-validate';

/** Options of `attn.sdpaNaive`: those of `attn.sdpa`, plus `returnWeights`. */
export interface SdpaNaiveOptions extends Omit<SdpaOptions, 'tile'> {
  /** Also return the attention weights [B, Hq, Lq, Lk] (softmax probabilities; zero rows when fully masked). */
  returnWeights?: boolean;
}

/** What `attn.sdpaNaive` returns when `returnWeights` or `returnLse` is set. */
export interface SdpaNaiveResult {
  output: GpuTensor;
  weights?: GpuTensor;
  lse?: GpuTensor;
}

const WORKGROUP_SIZE = 256;

/** Folds `threads` invocations into a workgroup grid (WORKGROUP_SIZE per workgroup). */
export type NaiveGrid = (threads: number) => [number, number, number];

/**
 * Checks that the naive path can run `dims` on this device: the score matrix [B, Hq, Lq, Lk] must
 * fit one buffer binding (a failed allocation does not throw in WebGPU) and every pass's grid must
 * be dispatchable. Throws an AttentionError on `argument`; returns the grid folder.
 * @example
 * const grid = planNaive(runtime, dims, 'options.needWeights');
 */
export function planNaive(runtime: GpuRuntime, dims: SdpaDims, argument = 'q'): NaiveGrid {
  const { B, Hq, Lq, Lk } = dims;
  const limits = runtime.device.limits;
  const scoreElements = B * Hq * Lq * Lk;
  const limit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  if (scoreElements * 4 > limit || scoreElements >= 2 ** 32) {
    throw new AttentionError(
      argument,
      `B·Hq·Lq·Lk = ${scoreElements} scores (${scoreElements * 4} bytes) for the naive path`,
      `at most ${Math.floor(limit / 4)} scores (this device's buffer binding limit); use attn.sdpa, which never materialises them`,
    );
  }
  const grid: NaiveGrid = (threads) =>
    foldWorkgroups(Math.ceil(threads / WORKGROUP_SIZE), limits.maxComputeWorkgroupsPerDimension);
  for (const threads of [scoreElements, B * Hq * Lq * dims.Dv]) {
    if (grid(threads)[1] > limits.maxComputeWorkgroupsPerDimension) {
      throw new AttentionError(argument, `${threads} invocations`, 'fewer (the dispatch does not fit the device)');
    }
  }
  return grid;
}

/**
 * Runs the naive kernels. Returns the output, or `{ output, weights?, lse? }`.
 * @example
 * const { output, weights } = sdpaNaive(runtime, q, k, v, { returnWeights: true }) as SdpaNaiveResult;
 */
export function sdpaNaive(
  runtime: GpuRuntime,
  q: unknown,
  k: unknown,
  v: unknown,
  options?: SdpaNaiveOptions,
): GpuTensor | SdpaNaiveResult {
  const call = validateAttentionCall(runtime, q, k, v, options);
  const returnWeights = options?.returnWeights ?? false;
  if (typeof returnWeights !== 'boolean')
    throw new AttentionError('options.returnWeights', String(returnWeights), 'true or false');
  const grid = planNaive(runtime, call.dims);
  const { B, Hq, Lq, Lk, Dv } = call.dims;
  const binding = (bytes: number, label: string): GPUBufferBinding => ({
    buffer: runtime.pool.acquire(bytes, label),
    size: bytes,
  });
  const weights = binding(B * Hq * Lq * Lk * 4, 'sdpa_naive weights');
  const out = binding(B * Hq * Lq * Dv * 4, 'sdpa_naive output');
  const lse = call.options.returnLse ? binding(B * Hq * Lq * 4, 'sdpa_naive lse') : null;
  const encoded = encodeNaive(runtime, operandsOf(call, out), grid, weights, lse);
  const ready = runtime.run('sdpa_naive', encoded.dispatches);
  encoded.release();
  const tensor = (b: GPUBufferBinding, shape: number[]) =>
    Object.assign(new GpuTensor(runtime, b.buffer, shape, 0, true), { ready });
  const output = tensor(out, call.outputShape);
  const weightsTensor = tensor(weights, [B, Hq, Lq, Lk]);
  if (!returnWeights) weightsTensor.destroy();
  if (!returnWeights && !lse) return output;
  const result: SdpaNaiveResult = { output };
  if (returnWeights) result.weights = weightsTensor;
  if (lse) result.lse = tensor(lse, [B, Hq, Lq]);
  return result;
}

/**
 * The naive passes (scores, softmax, output) for an attention call on views: the probabilities
 * land in `weights` [B, Hq, Lq, Lk], the log-sum-exp in `lse` when options.returnLse. With
 * `headMean`, a fourth pass writes the mean of the weights over heads there, [B, Lq, Lk]. The
 * caller submits the dispatches in order with `runtime.run`, then calls release().
 * @example
 * const { dispatches, release } = encodeNaive(runtime, ops, planNaive(runtime, ops.dims), weights, null);
 */
export function encodeNaive(
  runtime: GpuRuntime,
  ops: AttentionOperands,
  grid: NaiveGrid,
  weights: GPUBufferBinding,
  lse: GPUBufferBinding | null,
  headMean?: GPUBufferBinding,
): { dispatches: KernelDispatch[]; release(): void } {
  const { B, Hq, Lq, Lk, Dv } = ops.dims;
  const inputs = attentionInputs(runtime, ops);
  const overrides = { ...inputs.overrides, WORKGROUP_SIZE };
  const buffers = { ...inputs.buffers, weights, out: ops.out.resource, lse: lse ?? { buffer: runtime.dummyOutput } };
  const base = { ...inputs.uniforms, scale: ops.options.scale, softcap: ops.options.softcap };
  const pass = (
    entry: string,
    threads: number,
    out = buffers.out,
    specialised: Record<string, number | boolean> = overrides,
  ): KernelDispatch => {
    const workgroups = grid(threads);
    const pipeline = runtime.pipelines.get(SHADERS.sdpaNaive, entry, specialised);
    return { pipeline, uniforms: { ...base, groups_x: workgroups[0] }, buffers: { ...buffers, out }, workgroups };
  };
  const dispatches = [
    pass('sdpa_naive_scores', B * Hq * Lq * Lk),
    pass('sdpa_naive_softmax', B * Hq * Lq),
    pass('sdpa_naive_output', B * Hq * Lq * Dv),
  ];
  // The mean reads no option: one pipeline serves every call.
  if (headMean) dispatches.push(pass('sdpa_naive_head_mean', B * Lq * Lk, headMean, { WORKGROUP_SIZE }));
  return { dispatches, release: inputs.release };
}
