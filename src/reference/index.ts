/**
 * The float64 CPU path: the same operations and options as the GPU context, for users without
 * WebGPU (a fallback) and for every correctness test (the oracle).
 */
import { sdpa } from './sdpa';
import { neighborhood1d, neighborhood2d } from './neighborhood';
import { multiHeadAttention } from './multi-head';
import { linear } from './linear';

export type { ReferenceSdpaOutputs } from './sdpa';
export type { ReferenceNeighborhood1dOptions, ReferenceNeighborhood2dOptions } from './neighborhood';
export type {
  ReferenceMhaConfig,
  ReferenceMhaOptions,
  ReferenceMhaOutputs,
  ReferenceMultiHeadAttention,
} from './multi-head';
export type { HostResult, HostTensor, ReferenceSdpaOptions } from '../contract/types';

/**
 * CPU reference operations (float64).
 * @example
 * import { reference } from 'webgpu-attention';
 * const out = reference.sdpa(q, k, v, { causal: true }); // { data: Float64Array, shape }
 * const local = reference.neighborhood2d(q5, k5, v5, { kernel: 7, dilation: 2 }); // q5 [B, H, Y, X, D]
 * const y = reference.multiHeadAttention({ embedDim: 8, numHeads: 2, weights }).forward(x);
 * const z = reference.linear(x, weight, bias); // x [..., K], weight [N, K], bias [N] → [..., N]
 */
export const reference = { sdpa, neighborhood2d, neighborhood1d, multiHeadAttention, linear };
