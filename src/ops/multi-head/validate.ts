/**
 * Validation of a multi-head-attention layer on the GPU: the contract's config and forward checks
 * (shared with the CPU reference) with GPU tensors of this context, plus what only the GPU layer
 * requires (an even headDim with rotary, weights still alive at each forward).
 */
import { validateMhaConfig } from '../../contract/multi-head-config';
import { validateMhaForward } from '../../contract/multi-head-forward';
import type {
  MhaConfigOf,
  MhaForwardOptionsOf,
  ResolvedMhaConfig,
  TensorChecks,
  ValidatedMhaForward,
} from '../../contract/multi-head-options';
import { AttentionError, describe } from '../../errors';
import { checkFits } from '../../gpu/limits';
import type { GpuRuntime } from '../../gpu/runtime';
import { GpuMask, GpuTensor } from '../../tensor';
import { storageOf, type GpuKvCache, type KeyOrder, type KvStorage } from '../kv-cache/encode';
import { planCapacity } from '../kv-cache/plan';

/** Config of `attn.multiHeadAttention`: weights are GpuTensors of the context. */
export type MhaConfig = MhaConfigOf<GpuTensor>;

/** Options of `forward`: key and value GpuTensors, a float or boolean mask, a GpuMask key-padding mask, a KV cache. */
export type MhaForwardOptions = MhaForwardOptionsOf<GpuTensor, GpuTensor | GpuMask, GpuMask, GpuKvCache>;

type LayerTensor = GpuTensor | GpuMask;

/** Tensors on this path: GpuTensor or GpuMask of this context, live, within the device's limits. */
function layerChecks(runtime: GpuRuntime): TensorChecks<LayerTensor> {
  return {
    tensor(argument, value) {
      if (!(value instanceof GpuTensor) && !(value instanceof GpuMask)) {
        throw new AttentionError(
          argument,
          describe(value),
          'a GpuTensor (or GpuMask for a boolean mask) made by attn.tensor(), attn.mask() or attn.wrap()',
        );
      }
      value.assertUsable(argument, runtime);
      return value;
    },
    isBool: (t) => t instanceof GpuMask,
    contents: (argument, t) => checkFits(runtime.device.limits, argument, t.size, t.size * t.bytesPerElement),
    cache(argument, value) {
      const storage = storageOf(value);
      if (!storage) throw new AttentionError(argument, describe(value), 'a KV cache made by attn.kvCache()');
      storage.assertUsable(argument, runtime);
      return storage;
    },
  };
}

/**
 * Checks a layer's config and weights.
 * @example
 * const config = validateLayerConfig(runtime, { embedDim: 8, numHeads: 2, weights: { q, k, v, o } });
 */
export function validateLayerConfig(runtime: GpuRuntime, config: unknown): ResolvedMhaConfig<GpuTensor> {
  runtime.assertAlive();
  const c = validateMhaConfig(config, layerChecks(runtime));
  if (c.rotary && c.headDim % 2 !== 0) {
    throw new AttentionError(
      'config.headDim',
      `${c.headDim} (odd) with rotary`,
      "an even headDim when rotary is on (the GPU layer rotates pairs of columns held in one invocation's registers)",
    );
  }
  // Weights were checked to be float tensors: GpuTensor, not GpuMask.
  return c as ResolvedMhaConfig<GpuTensor>;
}

/** The layer's weights with the names the config gave them. */
function namedWeights(c: ResolvedMhaConfig<GpuTensor>): [string, GpuTensor | undefined][] {
  if (c.packed) {
    return [
      ['inProj', c.q.weight],
      ['inProjBias', c.q.bias],
      ['outProj', c.o.weight],
      ['outProjBias', c.o.bias],
    ];
  }
  return [
    ['q', c.q.weight],
    ['k', c.k.weight],
    ['v', c.v.weight],
    ['o', c.o.weight],
    ['qBias', c.q.bias],
    ['kBias', c.k.bias],
    ['vBias', c.v.bias],
    ['oBias', c.o.bias],
  ];
}

/**
 * Checks one forward call of a live layer (its weights alive too) against its config.
 * @example
 * const call = validateLayerForward(runtime, config, x, { causal: true });
 */
export function validateLayerForward(
  runtime: GpuRuntime,
  config: ResolvedMhaConfig<GpuTensor>,
  x: unknown,
  options: unknown,
): ValidatedMhaForward<GpuTensor> {
  runtime.assertAlive();
  for (const [name, t] of namedWeights(config)) t?.assertUsable(`weights.${name}`, runtime);
  const call = validateMhaForward<LayerTensor>(config, x, options, layerChecks(runtime));
  // The query, key and value were checked to be float tensors; masks keep their own type.
  return call as ValidatedMhaForward<GpuTensor>;
}

/**
 * The order in which the layer's projection stores key columns: GPT-NeoX rotary permutes the weight
 * rows so each rotated pair comes out adjacent (q·k is unchanged); a cache keeps that order.
 */
export function layerKeyOrder(config: ResolvedMhaConfig<GpuTensor>): KeyOrder {
  const r = config.rotary;
  return r && !r.interleaved ? `GPT-NeoX pair-adjacent (rotary dim ${r.dim})` : 'as given';
}

/**
 * What only the GPU checks of a forward's cache: keys in the order this layer writes them, and
 * stores that can grow to hold x's tokens on this device. Returns the capacity the stores need
 * (0 without a cache).
 */
export function checkForwardCache(
  runtime: GpuRuntime,
  config: ResolvedMhaConfig<GpuTensor>,
  call: ValidatedMhaForward<GpuTensor>,
): number {
  if (!call.cache) return 0;
  const storage = call.cache as KvStorage;
  storage.assertKeyOrder(layerKeyOrder(config), 'options.cache');
  return planCapacity(storage, call.L, runtime.device.limits, 'x');
}
