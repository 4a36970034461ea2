// The public surface of webgpu-attention, and nothing else.
export { createAttention, AttentionContext, type CreateAttentionOptions } from './context';
export { GpuTensor, GpuMask, type TensorDtype } from './tensor';
export { AttentionError, GpuError, DeviceLostError } from './errors';
export { reference } from './reference/index';
export type { SdpaOptions, SdpaWithLse } from './ops/sdpa';
export type { SdpaNaiveOptions, SdpaNaiveResult } from './ops/sdpa-naive';
export type { WrapOptions } from './ops/tensors';
export type { SdpaTile } from './ops/sdpa-plan';
export type { HostTensor, HostResult, Layout, Alignment, SdpaOptionsOf, ReferenceSdpaOptions } from './types';
