/**
 * `attn.multiHeadAttention`: a multi-head-attention layer on the GPU (projections in PyTorch's
 * layouts, grouped-query heads, rotary embeddings, key-padding masks, the output projection).
 * validate (the contract's checks, shared with the CPU reference) → plan (the layer's buffers and
 * the kernels' plans) → encode: every dispatch of one forward goes in one `runtime.run`.
 */
import type { ResolvedMhaConfig, ValidatedMhaForward } from '../../contract/multi-head-options';
import { AttentionError } from '../../errors';
import { bindableBytes } from '../../gpu/limits';
import type { AllocationScope } from '../../gpu/allocation';
import type { GpuRuntime } from '../../gpu/runtime';
import { GpuTensor, type GpuMask } from '../../tensor';
import { rotaryTable } from '../linear/encode';
import { tunedLinearTile } from '../linear/plan-tuning';
import {
  encodeLayerAttention,
  encodeOutProjection,
  encodeProjection,
  layerOperands,
  type LayerBuffers,
  type RotaryTable,
} from './encode';
import type { KvStorage } from '../kv-cache/encode';
import { planLayer, type LayerPlan, type MhaBuffer } from './plan';
import {
  checkForwardCache,
  layerKeyOrder,
  validateLayerConfig,
  validateLayerForward,
  type MhaConfig,
  type MhaForwardOptions,
} from './validate';

/** What `forward` returns with `needWeights: true`. */
export interface MhaOutputs {
  /** [B, L, embedDim]. */
  output: GpuTensor;
  /** [B, L, Lk] averaged over heads (averageHeads, the default), or [B, numHeads, L, Lk]. */
  weights: GpuTensor;
}

type Call = ValidatedMhaForward<GpuTensor>;

/**
 * A multi-head-attention layer on the GPU, made by `attn.multiHeadAttention(config)`. Holds the
 * weight tensors by reference (they must stay alive); `destroy()` frees what the layer made.
 * @example
 * const mha = attn.multiHeadAttention({ embedDim: 512, numHeads: 8, numKvHeads: 2, weights: { inProj, outProj } });
 * const y = mha.forward(x, { causal: true }); // x [B, L, 512] → y [B, L, 512]
 */
export class MultiHeadAttention {
  /** The checked config, defaults applied. */
  readonly config: ResolvedMhaConfig<GpuTensor>;
  readonly #runtime: GpuRuntime;
  private rotaryCache: RotaryTable | null = null;
  private destroyed = false;

  /** @internal Layers are made by attn.multiHeadAttention(config). */
  constructor(runtime: GpuRuntime, config: MhaConfig) {
    this.#runtime = runtime;
    this.config = validateLayerConfig(runtime, config);
  }

  /** forward returning the attention weights too. */
  forward(x: GpuTensor, options: MhaForwardOptions & { needWeights: true }): MhaOutputs;
  /** forward returning the output [B, L, embedDim]. */
  forward(x: GpuTensor, options?: MhaForwardOptions & { needWeights?: false }): GpuTensor;
  /** forward whose return shape is only known at run time. */
  forward(x: GpuTensor, options?: MhaForwardOptions): GpuTensor | MhaOutputs;
  /**
   * Runs the layer: self-attention on x [B, L, embedDim], or cross-attention with options.key and
   * options.value. With `cache`, this call's K and V go straight into the cache (after rotary, at
   * positions continuing from cache.length) and x attends over every token it holds. Throws an
   * {@link AttentionError} naming the bad argument before enqueuing anything (the cache unchanged).
   * @example
   * const y = mha.forward(x, { keyPaddingMask });                       // keyPaddingMask: GpuMask [B, L], 1 = padding
   * const { output, weights } = mha.forward(x, { needWeights: true }); // weights [B, L, L]
   * const step = mha.forward(token, { causal: true, cache });          // token [B, 1, E]: one decode step
   */
  forward(x: GpuTensor, options?: MhaForwardOptions): GpuTensor | MhaOutputs {
    this.#runtime.assertAlive();
    if (this.destroyed) {
      throw new AttentionError(
        'layer',
        'a destroyed multiHeadAttention layer',
        'a live layer (do not call forward after destroy())',
      );
    }
    const call = validateLayerForward(this.#runtime, this.config, x, options);
    const capacity = checkForwardCache(this.#runtime, this.config, call);
    const tuned = (M: number) => tunedLinearTile(this.#runtime, M);
    const plan = planLayer(this.config, call, this.#runtime.device.limits, capacity, tuned);
    // Past validation: grow the cache's stores first (their own submission) when x's tokens need it.
    (call.cache as KvStorage | null)?.reserve(capacity);
    return this.encode(call, plan);
  }

  /** Frees what the layer made (its rotary table); the weight tensors stay the caller's. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.rotaryCache?.tensor.destroy();
    this.rotaryCache = null;
  }

  private encode(call: Call, plan: LayerPlan<GpuTensor>): GpuTensor | MhaOutputs {
    const [runtime, c] = [this.#runtime, this.config];
    const cache = call.cache as KvStorage | null;
    const { result, ready } = runtime.submit(this.inputsOf(call), (scope) => {
      const rotary = this.rotaryFor(plan.layout.rotaryPositions, scope);
      const take = (elements: number, label: string, keep = false): GPUBufferBinding =>
        keep ? scope.output(elements * 4, label) : scope.scratch(elements * 4, label);
      const buffers = this.buffers(call, plan, take);
      const inputs = { query: call.query, key: call.key, value: call.value };
      const projections = plan.layout.steps.map((s, i) =>
        encodeProjection(runtime, c, s, plan.projections[i], inputs[s.input], buffers, rotary),
      );
      const ops = layerOperands(c, call, plan.layout, buffers);
      const middle = encodeLayerAttention(runtime, ops, plan.attention, buffers.weights);
      const out = encodeOutProjection(runtime, c, call, plan.outProjection, buffers);
      const dispatches = [...projections, ...middle, out];
      return { label: 'multiHeadAttention', dispatches, result: { buffers, rotary } };
    });
    cache?.commit(call.L, ready, layerKeyOrder(c));
    if (result.rotary && result.rotary !== this.rotaryCache) {
      // Releasing after earlier submits is safe: queue order runs them before any later write.
      this.rotaryCache?.tensor.destroy();
      this.rotaryCache = result.rotary;
    }
    const tensor = (b: GPUBufferBinding, shape: number[]) => new GpuTensor(runtime, b.buffer, shape, 0, true, ready);
    const y = tensor(result.buffers.output, call.outputShape);
    const { weights } = result.buffers;
    if (!weights) return y;
    return { output: y, weights: tensor(weights.averaged ?? weights.perHead, call.weightsShape!) };
  }

  /** Every tensor the forward reads, whose failures its outputs inherit. */
  private inputsOf(call: Call): (GpuTensor | GpuMask | null | undefined)[] {
    const projections = [this.config.q, this.config.k, this.config.v, this.config.o];
    const cache = call.cache as KvStorage | null;
    return [
      cache?.keys,
      cache?.values,
      call.query,
      call.key,
      call.value,
      call.mask?.tensor,
      call.keyPaddingMask,
      ...projections.flatMap((p) => [p.weight, p.bias]),
    ];
  }

  /** Takes the forward's buffers; the output and the returned weights are kept, the rest is scratch. */
  private buffers(
    call: Call,
    plan: LayerPlan<GpuTensor>,
    take: (elements: number, label: string, keep?: boolean) => GPUBufferBinding,
  ): LayerBuffers {
    const projections: LayerBuffers['projections'] = {};
    for (const [name, elements] of Object.entries(plan.layout.bufferElements)) {
      projections[name as MhaBuffer] = take(elements, `multiHeadAttention ${name}`);
    }
    const cache = call.cache as KvStorage | null;
    if (cache)
      [projections.keys, projections.values] = [cache.keys.binding().resource, cache.values.binding().resource];
    const attention = take(plan.layout.attentionElements, 'multiHeadAttention heads');
    const output = take(
      call.B * call.L * this.config.embedDim,
      `multiHeadAttention output [${call.outputShape.join(', ')}]`,
      true,
    );
    let weights: LayerBuffers['weights'] = null;
    if (call.weightsShape) {
      const { B, L, Lk, averageHeads } = call;
      const perHead = take(
        B * this.config.numHeads * L * Lk,
        'multiHeadAttention weights [B, H, L, Lk]',
        !averageHeads,
      );
      const averaged = averageHeads ? take(B * L * Lk, 'multiHeadAttention weights [B, L, Lk]', true) : undefined;
      weights = { perHead, averaged };
    }
    return { projections, halfStores: cache?.dtype === 'f16', attention, output, weights };
  }

  /**
   * The layer's rotary table for `positions`, or a grown one (to a power of two, so growing sequences
   * rarely rebuild it) taken in the forward's scope: it replaces the cached table once the forward is
   * submitted, and goes back to the pool if the forward throws.
   */
  private rotaryFor(positions: number, scope: AllocationScope): RotaryTable | null {
    const r = this.config.rotary;
    if (!r || positions === 0) return null;
    if (this.rotaryCache && this.rotaryCache.positions >= positions) return this.rotaryCache;
    const size = Math.max(16, 2 ** Math.ceil(Math.log2(positions)));
    const grown = size * r.dim * 4 <= bindableBytes(this.#runtime.device.limits) ? size : positions;
    const table = { tensor: rotaryTable(this.#runtime, grown, r.dim, r.base), positions: grown };
    scope.adopt(table.tensor.buffer);
    return table;
  }
}

/**
 * Makes a multi-head-attention layer (checks the config and weights).
 * @example
 * const mha = multiHeadAttention(runtime, { embedDim: 8, numHeads: 2, weights: { q, k, v, o } });
 */
export function multiHeadAttention(runtime: GpuRuntime, config: MhaConfig): MultiHeadAttention {
  return new MultiHeadAttention(runtime, config);
}
