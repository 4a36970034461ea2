/**
 * The attention context: owns (or borrows) a device, its pipeline cache and buffer pool, and
 * makes tensors. Every operation is a method here (or on its base, context-base.ts) that
 * forwards to its file in src/ops/.
 */
import { acquireDevice, type DeviceOptions } from './gpu/device';
import { ContextBase } from './context-base';
import { sdpa, type SdpaWithLse } from './ops/sdpa/sdpa';
import { sdpaNaive, type SdpaNaiveResult } from './ops/sdpa/sdpa-naive';
import type { SdpaNaiveOptions, SdpaOptions } from './ops/sdpa/validate';
import { sdpaVarlen, type SdpaVarlenWithLse } from './ops/varlen/varlen';
import type { VarlenOptions } from './contract/varlen';
import { linearAttention, type LinearAttentionOptions } from './ops/linear-attention/linear-attention';
import { linformer, type LinformerOptions, type LinformerWithLse } from './ops/linformer/linformer';
import { linear } from './ops/linear/linear';
import { multiHeadAttention, type MultiHeadAttention } from './ops/multi-head/multi-head';
import type { MhaConfig } from './ops/multi-head/validate';
import { kvCache, type KvCache } from './ops/kv-cache/kv-cache';
import type { PagedAttentionOptions, PagedKvCacheOptions } from './contract/paged';
import { PagedKvCache } from './ops/paged/paged-kv-cache';
import { sdpaPaged, type SdpaPagedWithLse } from './ops/paged/sdpa-paged';
import { additive } from './ops/score-functions/additive';
import { multiplicative } from './ops/score-functions/multiplicative';
import { GpuGraph } from './ops/graph/graph';
import { graphAttention } from './ops/graph/graph-attention';
import type { GraphAttentionOptions, GraphAttentionResult } from './ops/graph/validate';
import type { EdgeIndex, GraphOptions } from './contract/graph';
import type { AdditiveOptions, MultiplicativeOptions, ScoreResult } from './ops/score-functions/validate';
import type { KvCacheOptions } from './contract/kv-cache';
import { neighborhood1d, neighborhood2d } from './ops/local/neighborhood';
import type { Neighborhood1dOptions, Neighborhood2dOptions } from './ops/local/validate';
import { makeMask, makeTensor, wrapBuffer, type TensorOptions, type WrapOptions } from './ops/tensors/create';
import type { GpuMask, GpuTensor } from './tensor';
import { tune, type TuneShape } from './ops/sdpa/tune';
import { checkTuning, keepTuning, type Tuning } from './ops/sdpa/tuning';
import { acquiredFeatures, type KernelFeatureOptions } from './gpu/kernel-features';

export interface CreateAttentionOptions extends DeviceOptions, KernelFeatureOptions {
  /** Log each new pipeline's WGSL source and overrides. */
  debug?: boolean;
  /** What `attn.tune()` returned (on this device or another): its tile choices are used. */
  tuning?: Tuning;
}

/**
 * Creates an attention context.
 * @example
 * const attn = await createAttention();                        // browser: navigator.gpu
 * const attn2 = await createAttention({ device: myDevice });   // the app's own device
 * import { create } from 'webgpu';
 * const attn3 = await createAttention({ gpu: create([]) });    // Node (Dawn)
 */
export async function createAttention(options: CreateAttentionOptions = {}): Promise<AttentionContext> {
  const tuning = options.tuning === undefined ? null : checkTuning(options.tuning);
  const acquired = await acquireDevice(options);
  const features = acquiredFeatures(acquired, options);
  const context = new AttentionContext(acquired.device, acquired.ownsDevice, acquired.gpu);
  context.runtime.features = features;
  if (tuning) keepTuning(context.runtime, tuning.entries);
  context.debug = options.debug ?? false;
  return context;
}

export class AttentionContext extends ContextBase {
  private destroyed = false;

  constructor(
    readonly device: GPUDevice,
    private readonly ownsDevice: boolean,
    /** Held so that Dawn's instance outlives every object made from it. */
    private readonly gpu: GPU | null,
  ) {
    super(device);
  }

  /**
   * Uploads float data (row-major over `shape`) as f32, or as f16 with `{ dtype: 'f16' }` (rounded to
   * nearest even; a Uint16Array is taken as raw f16 bits).
   * @example attn.tensor(new Float32Array(8), [1, 1, 2, 4]); attn.tensor(kData, [1, 8, 128, 64], { dtype: 'f16' })
   */
  tensor(
    data: Float32Array | Uint16Array | readonly number[],
    shape: readonly number[],
    options?: TensorOptions,
  ): GpuTensor {
    return makeTensor(this.runtime, data, shape, options);
  }

  /** Uploads a boolean mask, one byte per element, 1 = may attend. @example attn.mask(new Uint8Array([1, 0]), [1, 2]) */
  mask(data: Uint8Array | readonly number[], shape: readonly number[]): GpuMask {
    return makeMask(this.runtime, data, shape);
  }

  /**
   * Wraps the app's own buffer (STORAGE usage; COPY_SRC to read() it) without a copy.
   * @example attn.wrap(buffer, [1, 8, 128, 64], { offset: 256 }); attn.wrap(halves, [1, 8, 128, 64], { dtype: 'f16' })
   */
  wrap(buffer: GPUBuffer, shape: readonly number[], options?: WrapOptions & { dtype?: 'f32' | 'f16' }): GpuTensor;
  wrap(buffer: GPUBuffer, shape: readonly number[], options: WrapOptions & { dtype: 'bool' }): GpuMask;
  wrap(buffer: GPUBuffer, shape: readonly number[], options?: WrapOptions): GpuTensor | GpuMask {
    return wrapBuffer(this.runtime, buffer, shape, options);
  }

  /**
   * Tiled (flash) scaled-dot-product attention.
   * @example
   * const o = attn.sdpa(q, k, v, { causal: true });
   * const { output, lse } = attn.sdpa(q, k, v, { returnLse: true });
   */
  sdpa(q: GpuTensor, k: GpuTensor, v: GpuTensor, options: SdpaOptions & { returnLse: true }): SdpaWithLse;
  sdpa(q: GpuTensor, k: GpuTensor, v: GpuTensor, options?: SdpaOptions & { returnLse?: false }): GpuTensor;
  sdpa(q: GpuTensor, k: GpuTensor, v: GpuTensor, options?: SdpaOptions): GpuTensor | SdpaWithLse;
  sdpa(q: GpuTensor, k: GpuTensor, v: GpuTensor, options?: SdpaOptions): GpuTensor | SdpaWithLse {
    return sdpa(this.runtime, q, k, v, options);
  }

  /**
   * The naive three-pass attention (materialises the scores); `returnWeights` gives the weights.
   * @example
   * const { output, weights } = attn.sdpaNaive(q, k, v, { returnWeights: true });
   */
  sdpaNaive(
    q: GpuTensor,
    k: GpuTensor,
    v: GpuTensor,
    options: SdpaNaiveOptions & ({ returnWeights: true } | { returnLse: true }),
  ): SdpaNaiveResult;
  sdpaNaive(
    q: GpuTensor,
    k: GpuTensor,
    v: GpuTensor,
    options?: SdpaNaiveOptions & { returnWeights?: false; returnLse?: false },
  ): GpuTensor;
  sdpaNaive(q: GpuTensor, k: GpuTensor, v: GpuTensor, options?: SdpaNaiveOptions): GpuTensor | SdpaNaiveResult;
  sdpaNaive(q: GpuTensor, k: GpuTensor, v: GpuTensor, options?: SdpaNaiveOptions): GpuTensor | SdpaNaiveResult {
    return sdpaNaive(this.runtime, q, k, v, options);
  }

  /** Packed variable-length sequences (ops/varlen). @example attn.sdpaVarlen(q, k, v, { cuSeqlensQ: [0, 3, 8], cuSeqlensK: [0, 3, 8] }) */
  sdpaVarlen(q: GpuTensor, k: GpuTensor, v: GpuTensor, options: VarlenOptions & { returnLse: true }): SdpaVarlenWithLse;
  sdpaVarlen(q: GpuTensor, k: GpuTensor, v: GpuTensor, options: VarlenOptions & { returnLse?: false }): GpuTensor;
  sdpaVarlen(q: GpuTensor, k: GpuTensor, v: GpuTensor, options: VarlenOptions): GpuTensor | SdpaVarlenWithLse;
  sdpaVarlen(q: GpuTensor, k: GpuTensor, v: GpuTensor, options: VarlenOptions): GpuTensor | SdpaVarlenWithLse {
    return sdpaVarlen(this.runtime, q, k, v, options);
  }

  /** Linear attention at O(L·D·Dv) (ops/linear-attention). @example attn.linearAttention(q, k, v, { causal: true }) */
  linearAttention(q: GpuTensor, k: GpuTensor, v: GpuTensor, options?: LinearAttentionOptions): GpuTensor {
    return linearAttention(this.runtime, q, k, v, options);
  }

  /**
   * Linformer: sdpa(q, E·k, F·v), keys and values projected along the sequence by E, F [r, Lk].
   * @example const o = attn.linformer(q, k, v, { projectK: E, projectV: F }); // + scale, mask [.., Lq, r], …
   */
  linformer(
    q: GpuTensor,
    k: GpuTensor,
    v: GpuTensor,
    options: LinformerOptions & { returnLse: true },
  ): LinformerWithLse;
  linformer(q: GpuTensor, k: GpuTensor, v: GpuTensor, options: LinformerOptions & { returnLse?: false }): GpuTensor;
  linformer(q: GpuTensor, k: GpuTensor, v: GpuTensor, options: LinformerOptions): GpuTensor | LinformerWithLse;
  linformer(q: GpuTensor, k: GpuTensor, v: GpuTensor, options: LinformerOptions): GpuTensor | LinformerWithLse {
    return linformer(this.runtime, q, k, v, options);
  }

  /** y = x · weightᵀ + bias, PyTorch's nn.Linear (ops/linear). @example attn.linear(x, weight, bias) // [2, 5, 8] · [3, 8]ᵀ → [2, 5, 3] */
  linear(x: GpuTensor, weight: GpuTensor, bias?: GpuTensor): GpuTensor {
    return linear(this.runtime, x, weight, bias);
  }

  /** 2-D neighbourhood attention, NATTEN (ops/local). @example attn.neighborhood2d(q, k, v, { kernel: 7, dilation: 2, rpb }) */
  neighborhood2d(q: GpuTensor, k: GpuTensor, v: GpuTensor, options: Neighborhood2dOptions): GpuTensor {
    return neighborhood2d(this.runtime, q, k, v, options);
  }

  /**
   * 1-D neighbourhood attention (NATTEN) over sequences: q [B, Hq, L, D] ('bhsd') or [B, L, Hq, D] ('bshd').
   * @example
   * const o = attn.neighborhood1d(q, k, v, { kernel: 5, dilation: 3, causal: true });
   */
  neighborhood1d(q: GpuTensor, k: GpuTensor, v: GpuTensor, options: Neighborhood1dOptions): GpuTensor {
    return neighborhood1d(this.runtime, q, k, v, options);
  }

  /**
   * A multi-head-attention layer (PyTorch weights, grouped-query heads, rotary, key-padding masks):
   * `forward(x)` runs the projections, attention and the output projection in one submission.
   * @example
   * const mha = attn.multiHeadAttention({ embedDim: 512, numHeads: 8, numKvHeads: 2, weights: { q, k, v, o } });
   * const y = mha.forward(x, { causal: true });                      // x [B, L, 512] → [B, L, 512]
   * const { output, weights } = mha.forward(x, { needWeights: true }); // weights [B, L, L]
   * mha.destroy();
   */
  multiHeadAttention(config: MhaConfig): MultiHeadAttention {
    return multiHeadAttention(this.runtime, config);
  }

  /**
   * A KV cache on the device for decoding: `append(k, v)` writes each step's tokens in place (no
   * copy of what is held; when `capacity` runs out the storage doubles, one copy of what is held,
   * unless `growable: false`), and `keys` / `values` are views [B, Hkv, length, D|Dv] that go
   * straight into `sdpa` / `sdpaNaive`. A multi-head layer's `forward(x, { cache })` appends and
   * attends in one submission.
   * @example
   * const cache = attn.kvCache({ batch: 1, kvHeads: 8, headDim: 64, capacity: 1024 });
   * cache.append(k, v);                                   // k, v [1, 8, n, 64]
   * const o = attn.sdpa(q, cache.keys, cache.values, { causal: true, alignment: 'lower-right' });
   * cache.destroy();
   */
  kvCache(options: KvCacheOptions): KvCache {
    return kvCache(this.runtime, options);
  }

  /** A paged KV cache (ops/paged/paged-kv-cache.ts). @example attn.pagedKvCache({ kvHeads: 8, headDim: 128, pageSize: 16, numPages: 1024 }) */
  pagedKvCache(options: PagedKvCacheOptions): PagedKvCache {
    return new PagedKvCache(this.runtime, options);
  }

  /** Attention through a paged cache's page tables (ops/paged/sdpa-paged.ts). @example attn.sdpaPaged(q, cache, { sequences: [a, b], causal: true, alignment: 'lower-right' }) */
  sdpaPaged(q: GpuTensor, cache: PagedKvCache, options: PagedAttentionOptions & { returnLse: true }): SdpaPagedWithLse;
  sdpaPaged(q: GpuTensor, cache: PagedKvCache, options: PagedAttentionOptions & { returnLse?: false }): GpuTensor;
  sdpaPaged(q: GpuTensor, cache: PagedKvCache, options: PagedAttentionOptions): GpuTensor | SdpaPagedWithLse;
  sdpaPaged(q: GpuTensor, cache: PagedKvCache, options: PagedAttentionOptions): GpuTensor | SdpaPagedWithLse {
    return sdpaPaged(this.runtime, q, cache, options);
  }

  /**
   * Additive (Bahdanau) attention, score = vaᵀ·tanh(wq·qᵢ + wk·kⱼ + bias): q [B, Lq, Dq], k [B, Lk, Dk],
   * v [B, Lk, Dv] → [B, Lq, Dv], or `{ output, weights }` with `returnWeights`.
   * @example const o = attn.additive(q, k, v, { wq, wk, va, causal: true }); // wq [A, Dq], wk [A, Dk], va [A]
   */
  additive<O extends AdditiveOptions>(q: GpuTensor, k: GpuTensor, v: GpuTensor, options: O): ScoreResult<O> {
    return additive(this.runtime, q, k, v, options) as ScoreResult<O>;
  }

  /**
   * Multiplicative (Luong "general") attention, score = scale·qᵢᵀ·W·kⱼ (scale default 1); shapes as additive.
   * @example const o = attn.multiplicative(q, k, v, { weight, mask }); // weight [Dq, Dk]
   */
  multiplicative<O extends MultiplicativeOptions>(q: GpuTensor, k: GpuTensor, v: GpuTensor, o: O): ScoreResult<O> {
    return multiplicative(this.runtime, q, k, v, o) as ScoreResult<O>;
  }

  /** PyG's edge_index [2, E] kept on the device by target (ops/graph/graph.ts). @example const g = attn.graph(edgeIndex, N) */
  graph(edgeIndex: EdgeIndex, numNodes: number, options?: GraphOptions): GpuGraph {
    return new GpuGraph(this.runtime, edgeIndex, numNodes, options);
  }

  /** Graph attention as PyG's GATConv (ops/graph/graph-attention.ts). @example attn.graphAttention(x, g, { weight, attSrc, attDst, heads: 3 }) */
  graphAttention<O extends GraphAttentionOptions>(x: GpuTensor, graph: GpuGraph, options: O): GraphAttentionResult<O> {
    return graphAttention(this.runtime, x, graph, options) as GraphAttentionResult<O>;
  }

  /**
   * Times the flash kernel's tilings (attention shapes) and the GEMM's (`{ M, N, K }` shapes) for
   * each shape's class on this device and keeps the fastest (ops/sdpa/tune.ts); store the result and
   * pass it back as `createAttention({ tuning })`.
   * @example const tuning = await attn.tune([{ Hq: 32, Hkv: 8, Lq: 1, Lk: 8192, D: 128, causal: true }]);
   */
  tune(shapes?: readonly TuneShape[], options?: { runs?: number }): Promise<Tuning> {
    const info = (this.device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    return tune(
      this.runtime,
      info ? `${info.vendor} ${info.architecture} ${info.description}`.trim() : '',
      shapes,
      options,
    );
  }

  /** Whether the context can still take work (false after destroy() or a lost device). */
  get alive(): boolean {
    return this.runtime.alive;
  }

  /** Counters for tests and tuning: compiled pipelines, live and pooled buffers. */
  get stats(): { pipelines: number; liveBuffers: number; pooledBytes: number } {
    return {
      pipelines: this.runtime.pipelines.size,
      liveBuffers: this.runtime.pool.liveCount,
      pooledBytes: this.runtime.pool.pooledBytes,
    };
  }

  /** Frees every buffer the context made, and the device if the context created it. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.runtime.destroy('the context was destroyed');
    if (this.ownsDevice) this.device.destroy();
  }
}
