// The public surface of webgpu-attention, and nothing else.
export { createAttention, AttentionContext, type CreateAttentionOptions } from './context';
export { GpuTensor, GpuMask, type TensorDtype } from './tensor';
export { AttentionError, GpuError, DeviceLostError } from './errors';
export { reference } from './reference/index';
export type { SdpaOptions, SdpaWithLse } from './ops/sdpa';
export type { SdpaNaiveOptions, SdpaNaiveResult } from './ops/sdpa-naive';
export type { WrapOptions } from './ops/tensors';
export type { SdpaTile } from './ops/sdpa-plan';
export type { Neighborhood2dOptions, Neighborhood1dOptions } from './ops/neighborhood';
export type { Neighborhood2dOptionsOf, Neighborhood1dOptionsOf, NeighborhoodLayout2d } from './ops/neighborhood-types';
export type { ReferenceNeighborhood2dOptions, ReferenceNeighborhood1dOptions } from './reference/neighborhood';
export type {
  HostTensor,
  HostResult,
  Layout,
  Alignment,
  SdpaOptionsOf,
  ReferenceSdpaOptions,
  SlidingWindow,
} from './types';
export type {
  MhaConfigOf,
  MhaForwardOptionsOf,
  MhaWeightsOf,
  MhaSeparateWeightsOf,
  MhaPackedWeightsOf,
  RotaryOptions,
} from './ops/mha-validate';
export type { MultiHeadAttention, MhaConfig, MhaForwardOptions, MhaOutputs } from './ops/multi-head';
export type {
  ReferenceMhaConfig,
  ReferenceMhaOptions,
  ReferenceMhaOutputs,
  ReferenceMultiHeadAttention,
} from './reference/multi-head';
