/**
 * The float64 CPU path: the same operations and options as the GPU context, for users without
 * WebGPU (a fallback) and for every correctness test (the oracle).
 */
import { sdpa } from './sdpa';

export type { ReferenceSdpaOutputs } from './sdpa';
export type { HostResult, HostTensor, ReferenceSdpaOptions } from '../types';

/**
 * CPU reference operations (float64).
 * @example
 * import { reference } from 'webgpu-attention';
 * const out = reference.sdpa(q, k, v, { causal: true }); // { data: Float64Array, shape }
 */
export const reference = { sdpa };
