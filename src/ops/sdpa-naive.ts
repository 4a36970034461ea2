/**
 * `attn.sdpaNaive`: the three-pass attention that materialises the scores (QKᵀ, softmax, ·V).
 * The baseline the flash kernel is measured against, and the path that returns the weights.
 */
import { AttentionError } from '../errors';
import { foldWorkgroups, type GpuRuntime, type KernelDispatch } from '../gpu/runtime';
import { SHADERS } from '../shaders';
import { GpuTensor } from '../tensor';
import { maskArguments, windowArguments } from './attention-args';
import { sharedUniforms, validateAttentionCall, type SdpaOptions, type ValidatedSdpa } from './sdpa';

/** Options of `attn.sdpaNaive`: those of `attn.sdpa`, plus `returnWeights`. */
export interface SdpaNaiveOptions extends Omit<SdpaOptions, 'tile'> {
  /** Also return the attention weights [B, Hq, Lq, Lk] (softmax probabilities; zero rows when fully masked). */
  returnWeights?: boolean;
}

/** What `attn.sdpaNaive` returns when `returnWeights` or `returnLse` is set. */
export interface SdpaNaiveResult { output: GpuTensor; weights?: GpuTensor; lse?: GpuTensor }

const WORKGROUP_SIZE = 256;

/**
 * Runs the naive kernels. Returns the output, or `{ output, weights?, lse? }`.
 * @example
 * const { output, weights } = sdpaNaive(runtime, q, k, v, { returnWeights: true }) as SdpaNaiveResult;
 */
export function sdpaNaive(runtime: GpuRuntime, q: unknown, k: unknown, v: unknown, options?: SdpaNaiveOptions): GpuTensor | SdpaNaiveResult {
  const call = validateAttentionCall(runtime, q, k, v, options);
  const returnWeights = options?.returnWeights ?? false;
  if (typeof returnWeights !== 'boolean') throw new AttentionError('options.returnWeights', String(returnWeights), 'true or false');
  const { B, Hq, Lq, Lk } = call.dims;
  const scoreElements = B * Hq * Lq * Lk;
  const limit = Math.min(runtime.device.limits.maxStorageBufferBindingSize, runtime.device.limits.maxBufferSize);
  // A failed allocation does not throw in WebGPU: check the score matrix can exist before trying.
  if (scoreElements * 4 > limit || scoreElements >= 2 ** 32) {
    throw new AttentionError('q', `B·Hq·Lq·Lk = ${scoreElements} scores (${scoreElements * 4} bytes) for the naive path`,
      `at most ${Math.floor(limit / 4)} scores (this device's buffer binding limit); use attn.sdpa, which never materialises them`);
  }
  const groups = (threads: number) => foldWorkgroups(Math.ceil(threads / WORKGROUP_SIZE), runtime.device.limits.maxComputeWorkgroupsPerDimension);
  for (const threads of [scoreElements, B * Hq * Lq * call.dims.Dv]) {
    if (groups(threads)[1] > runtime.device.limits.maxComputeWorkgroupsPerDimension) {
      throw new AttentionError('q', `${threads} invocations`, 'fewer (the dispatch does not fit the device)');
    }
  }
  return encodeNaive(runtime, call, returnWeights, groups);
}

function encodeNaive(runtime: GpuRuntime, call: ValidatedSdpa, returnWeights: boolean, groups: (n: number) => [number, number, number]): GpuTensor | SdpaNaiveResult {
  const { B, Hq, Lq, Lk, Dv } = call.dims;
  const weightsBytes = B * Hq * Lq * Lk * 4;
  const outBytes = B * Hq * Lq * Dv * 4;
  const lseBytes = B * Hq * Lq * 4;
  const weights = runtime.pool.acquire(weightsBytes, 'sdpa_naive weights');
  const out = runtime.pool.acquire(outBytes, 'sdpa_naive output');
  const lse = call.options.returnLse ? runtime.pool.acquire(lseBytes, 'sdpa_naive lse') : null;
  const mask = maskArguments(runtime, call.mask);
  const window = windowArguments(runtime, call.options.window, Lk);
  const overrides = {
    ...window.overrides,
    WORKGROUP_SIZE, IS_CAUSAL: call.options.causal, HAS_MASK: call.mask !== null,
    MASK_IS_BOOL: call.mask?.mask.dtype === 'bool', HAS_SOFTCAP: call.options.softcap > 0, WRITE_LSE: call.options.returnLse,
  };
  const buffers = {
    q: call.q.binding().resource, k: call.k.binding().resource, v: call.v.binding().resource, mask: mask.resource, global_bits: window.resource,
    weights: { buffer: weights, size: weightsBytes }, out: { buffer: out, size: outBytes },
    lse: lse ? { buffer: lse, size: lseBytes } : { buffer: runtime.dummyOutput },
  };
  const base = { ...sharedUniforms(call, mask.uniforms, window), scale: call.options.scale, softcap: call.options.softcap };
  const pass = (entry: string, threads: number): KernelDispatch => {
    const workgroups = groups(threads);
    const pipeline = runtime.pipelines.get(SHADERS.sdpaNaive, entry, overrides);
    return { pipeline, uniforms: { ...base, groups_x: workgroups[0] }, buffers, workgroups };
  };
  const ready = runtime.run('sdpa_naive', [
    pass('sdpa_naive_scores', B * Hq * Lq * Lk), pass('sdpa_naive_softmax', B * Hq * Lq), pass('sdpa_naive_output', B * Hq * Lq * Dv),
  ]);
  window.release();
  const output = Object.assign(new GpuTensor(runtime, out, call.outputShape, 0, true), { ready });
  const weightsTensor = Object.assign(new GpuTensor(runtime, weights, [B, Hq, Lq, Lk], 0, true), { ready });
  if (!returnWeights) weightsTensor.destroy();
  if (!returnWeights && !lse) return output;
  const result: SdpaNaiveResult = { output };
  if (returnWeights) result.weights = weightsTensor;
  if (lse) result.lse = Object.assign(new GpuTensor(runtime, lse, [B, Hq, Lq], 0, true), { ready });
  return result;
}
