/**
 * Option and config types of a multi-head-attention layer, shared by the GPU layer
 * (`attn.multiHeadAttention`) and the CPU reference: `T` is the tensor type of the path (a GpuTensor
 * or a host tensor). The resolved forms are what validation returns (docs/semantics.md).
 */
import type { KvCacheState } from './kv-cache';
import type { MaskStrides, ResolvedSdpaOptions, SdpaDims } from './sdpa';
import type { Alignment, SlidingWindow } from './types';

/** q/k/v/o projection weights in PyTorch `nn.Linear` layout [out, in], biases [out]. */
export interface MhaSeparateWeightsOf<T> {
  q: T;
  k: T;
  v: T;
  o: T;
  qBias?: T;
  kBias?: T;
  vBias?: T;
  oBias?: T;
}

/** `torch.nn.MultiheadAttention`'s packed form: inProj rows are q, then k, then v. */
export interface MhaPackedWeightsOf<T> {
  inProj: T;
  inProjBias?: T;
  outProj: T;
  outProjBias?: T;
}

/** The weights of a layer, in either form. */
export type MhaWeightsOf<T> = MhaSeparateWeightsOf<T> | MhaPackedWeightsOf<T>;

/** Rotary position embeddings applied to q and k of each head after the projection. */
export interface RotaryOptions {
  /** Default 10000. angle = pos · base^(−2i/dim). */
  base?: number;
  /** Leading dims of each head that rotate; even, ≤ headDim. Default headDim. */
  dim?: number;
  /** false (default): GPT-NeoX half-split pairs (i, i + dim/2). true: GPT-J adjacent pairs (2i, 2i+1). */
  interleaved?: boolean;
  /** Position of token 0 (queries and keys alike). Default 0. */
  positionOffset?: number;
}

/** Configuration of a multi-head-attention layer; `T` is the tensor type of the path. */
export interface MhaConfigOf<T> {
  embedDim: number;
  numHeads: number;
  /** Key/value heads (grouped-query attention); a divisor of numHeads. Default numHeads. */
  numKvHeads?: number;
  /** Width of the key input (cross-attention). Default embedDim. */
  kdim?: number;
  /** Width of the value input (cross-attention). Default embedDim. */
  vdim?: number;
  /** Default embedDim / numHeads (which must then divide). */
  headDim?: number;
  weights: MhaWeightsOf<T>;
  rotary?: RotaryOptions;
}

/**
 * Options of `forward`. `T`: key/value tensors, `M`: the attention mask, `P`: the key-padding mask,
 * `C`: the KV cache.
 */
export interface MhaForwardOptionsOf<T, M = T, P = M, C = never> {
  /** [B, Lk, kdim]. Absent (with value): self-attention on the query. */
  key?: T;
  /** [B, Lk, vdim]. */
  value?: T;
  causal?: boolean;
  alignment?: Alignment;
  /** As sdpa's mask (float: added; boolean: 1 = may attend), broadcast over [B|1, numHeads|1, L|1, Lk|1]. */
  mask?: M;
  /** [B, Lk] booleans, 1 = padding = masked (PyTorch's convention). */
  keyPaddingMask?: P;
  /** Sliding window, passed to sdpa unchanged. */
  window?: SlidingWindow;
  /** The first n keys stay visible whatever the window (passed to sdpa). */
  sinkTokens?: number;
  /** ALiBi slopes, one per query head (numHeads), passed to sdpa. */
  alibiSlopes?: readonly number[] | Float32Array | Float64Array;
  /** Learned sink logits, one per query head (numHeads), passed to sdpa. */
  sinks?: readonly number[] | Float32Array | Float64Array;
  /** Default 1/√headDim. */
  scale?: number;
  /** Also return the attention weights. */
  needWeights?: boolean;
  /** With needWeights: weights [B, L, Lk] averaged over heads (default true, as PyTorch), else [B, numHeads, L, Lk]. */
  averageHeads?: boolean;
  /**
   * Self-attention with a KV cache: this call's K and V (after rotary) are appended to the cache and
   * x attends to every token it holds (Lk = cached + L); rotary positions continue from the cached
   * length, and causal is lower-right.
   */
  cache?: C;
}

/** What each path calls a tensor: the reference a host tensor, the GPU op a GpuTensor or GpuMask of its context. */
export interface TensorChecks<T extends { readonly shape: readonly number[] }> {
  /** `value` as a tensor of this path (float or boolean), or an AttentionError naming `argument`. */
  tensor(argument: string, value: unknown): T;
  /** Whether a checked tensor holds booleans rather than floats. */
  isBool(tensor: T): boolean;
  /** Called once the shape is known good: the reference checks the data length, the GPU op device limits. */
  contents(argument: string, tensor: T): void;
  /** `value` as a live KV cache of this path, or an AttentionError naming `argument`. */
  cache?(argument: string, value: unknown): KvCacheState;
}

/** One projection: rows [row, row + rows) of `weight` (and `bias`), each `inDim` wide. */
export interface MhaProjection<T> {
  weight: T;
  bias?: T;
  row: number;
  rows: number;
  inDim: number;
}

/** Rotary options with defaults applied. */
export interface ResolvedRotary {
  base: number;
  dim: number;
  interleaved: boolean;
  positionOffset: number;
}

/** A checked layer config: sizes, one projection each for q, k, v, o (packed ones share a tensor), rotary. */
export interface ResolvedMhaConfig<T> {
  embedDim: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  kdim: number;
  vdim: number;
  /** Weights came as inProj/outProj: q, k and v are row ranges of one tensor. */
  packed: boolean;
  q: MhaProjection<T>;
  k: MhaProjection<T>;
  v: MhaProjection<T>;
  o: MhaProjection<T>;
  rotary: ResolvedRotary | null;
}

/** A checked forward call: inputs, attention sizes (bshd) and options, output shapes. */
export interface ValidatedMhaForward<T> {
  query: T;
  key: T;
  value: T;
  /** key and value are the query itself: one packed GEMM can make Q, K and V. */
  selfAttention: boolean;
  /** The KV cache the call appends to and attends over (the path's own cache object), or null. */
  cache: KvCacheState | null;
  /** Tokens the cache held before this call (0 without a cache): the position of x's first token. */
  pastLength: number;
  B: number;
  L: number;
  /** Keys attended: key's length, or with a cache pastLength + L. */
  Lk: number;
  /** Sizes of the sdpa call on Q [B, L, numHeads, headDim], K and V [B, Lk, numKvHeads, headDim]. */
  sdpaDims: SdpaDims;
  /** Scale, causal, offset with defaults (layout 'bshd'). */
  attention: ResolvedSdpaOptions;
  /** The options to pass to sdpa as given (the mask excepted), window included. */
  sdpaOptions: Pick<
    MhaForwardOptionsOf<never>,
    'scale' | 'causal' | 'alignment' | 'window' | 'sinkTokens' | 'alibiSlopes' | 'sinks'
  >;
  mask: { tensor: T; strides: MaskStrides } | null;
  keyPaddingMask: T | null;
  needWeights: boolean;
  averageHeads: boolean;
  outputShape: number[];
  /** [B, L, Lk] averaged, [B, numHeads, L, Lk] per head; null without needWeights. */
  weightsShape: number[] | null;
}
