// The public surface of webgpu-attention, and nothing else.
export { createAttention, AttentionContext, type CreateAttentionOptions } from './context';
export { GpuTensor, GpuMask, type TensorDtype, type FloatDtype } from './tensor';
export { AttentionError, GpuError, DeviceLostError } from './errors';
export { reference } from './reference/index';
export { alibiSlopes } from './contract/modifiers';
export { roundF16 } from './contract/f16';
export { sparsePatterns } from './contract/sparse-patterns';
export type { BlockMask, Normalization } from './contract/variants';
export type { SdpaWithLse } from './ops/sdpa/sdpa';
export type { SdpaNaiveResult } from './ops/sdpa/sdpa-naive';
export type { SdpaVarlenWithLse } from './ops/varlen/varlen';
export type { VarlenOptions, CuSeqlens } from './contract/varlen';
export type { ReferenceVarlenOutputs } from './reference/varlen';
export type { SdpaOptions, SdpaNaiveOptions } from './ops/sdpa/validate';
export type { SdpaTile } from './ops/sdpa/plan';
export type { LinearTuningEntry, SdpaTuningEntry, Tuning, TuningEntry } from './ops/sdpa/tuning';
export type { LinearTuneShape, SdpaTuneShape, TuneShape } from './ops/sdpa/tune';
export type { TensorOptions, WrapOptions } from './ops/tensors/create';
export type { Neighborhood2dOptions, Neighborhood1dOptions } from './ops/local/validate';
export type {
  Neighborhood2dOptionsOf,
  Neighborhood1dOptionsOf,
  NeighborhoodLayout2d,
} from './contract/neighborhood-options';
export type { ReferenceNeighborhood2dOptions, ReferenceNeighborhood1dOptions } from './reference/neighborhood';
export type {
  HostTensor,
  HostResult,
  Layout,
  Alignment,
  SdpaOptionsOf,
  ReferenceSdpaOptions,
  SlidingWindow,
} from './contract/types';
export type {
  MhaConfigOf,
  MhaForwardOptionsOf,
  MhaWeightsOf,
  MhaSeparateWeightsOf,
  MhaPackedWeightsOf,
  RotaryOptions,
} from './contract/multi-head-options';
export type { MultiHeadAttention, MhaOutputs } from './ops/multi-head/multi-head';
export { KvCache } from './ops/kv-cache/kv-cache';
export type { GpuKvCache } from './ops/kv-cache/encode';
export type { KvCacheOptions, KvCacheDtype } from './contract/kv-cache';
export type { MhaConfig, MhaForwardOptions } from './ops/multi-head/validate';
export type {
  ReferenceMhaConfig,
  ReferenceMhaOptions,
  ReferenceMhaOutputs,
  ReferenceMultiHeadAttention,
} from './reference/multi-head';
export type { ReferenceKvCache } from './reference/kv-cache';
export { PagedKvCache } from './ops/paged/paged-kv-cache';
export type { SdpaPagedWithLse } from './ops/paged/sdpa-paged';
export type { PagedKvCacheOptions, PagedAttentionOptions } from './contract/paged';
export type { LinearAttentionOptions, FeatureMap } from './contract/linear-attention';
export type { LinformerOptionsOf } from './contract/linformer';
export type { LinformerOptions } from './ops/linformer/validate';
export type { LinformerWithLse } from './ops/linformer/linformer';
export type { ReferenceLinformerOptions } from './reference/linformer';
export type {
  AdditiveOptions,
  MultiplicativeOptions,
  ScoreFunctionOutputs,
  ScoreResult,
} from './ops/score-functions/validate';
export type { AdditiveOptionsOf, MultiplicativeOptionsOf, ScoreOutputsOf } from './contract/score-functions';
export type {
  ReferenceAdditiveOptions,
  ReferenceMultiplicativeOptions,
  ReferenceScoreOutputs,
} from './reference/index';
export type { CbamOptions, ChannelAttentionOptions, SpatialAttentionOptions } from './ops/vision/vision';
export type {
  CbamOptionsOf,
  ChannelAttentionOptionsOf,
  ChannelGateOf,
  ChannelPooling,
  FeatureLayout,
  SpatialAttentionOptionsOf,
  SpatialGateOf,
} from './contract/vision';
export type { HeadFusion, RolloutOptions } from './contract/rollout';
export type {
  ReferenceCbamOptions,
  ReferenceChannelAttentionOptions,
  ReferenceSpatialAttentionOptions,
} from './reference/index';
export { GpuGraph } from './ops/graph/graph';
export type { GraphAttentionOptions, GraphAttentionOutputs, GraphAttentionResult } from './ops/graph/validate';
export type {
  EdgeIndex,
  EdgeIndexData,
  GraphOptions,
  GraphAttentionOptionsOf,
  GraphAttentionOutputsOf,
} from './contract/graph';
export type { HostGraph, ReferenceGraphAttentionOptions, ReferenceGraphAttentionOutputs } from './reference/index';
