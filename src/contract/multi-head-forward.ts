/**
 * Validation of one forward call of a multi-head-attention layer against its checked config, shared
 * by the GPU layer and the CPU reference (they differ only in their {@link TensorChecks}).
 */
import { AttentionError, describe } from '../errors';
import { checkFlag, checkObject } from './checks';
import { checkLayerCache, type KvCacheState } from './kv-cache';
import type { Shaped } from './multi-head-config';
import type { ResolvedMhaConfig, TensorChecks, ValidatedMhaForward } from './multi-head-options';
import { validateMaskShape, validateSdpaOptions, type SdpaDims } from './sdpa';

const FORWARD_KEYS = [
  'key',
  'value',
  'causal',
  'alignment',
  'mask',
  'keyPaddingMask',
  'window',
  'scale',
  'needWeights',
  'averageHeads',
  'cache',
  'sinkTokens',
  'alibiSlopes',
  'sinks',
];

/** A float [B, L, width] input. */
function checkInput<T extends Shaped>(
  tensors: TensorChecks<T>,
  argument: string,
  value: unknown,
  width: number,
  widthName: string,
): T {
  const t = tensors.tensor(argument, value);
  const s = t.shape;
  const what = `[B, L, ${widthName}] = [B, L, ${width}]`;
  if (tensors.isBool(t)) throw new AttentionError(argument, 'a boolean tensor', `a float tensor ${what}`);
  const ok = Array.isArray(s) && s.length === 3 && s.every((d) => Number.isInteger(d) && d > 0);
  if (!ok) throw new AttentionError(argument, `shape ${describe(s)}`, `3 positive integers ${what} (batch first)`);
  if (s[2] !== width)
    throw new AttentionError(
      argument,
      `width ${s[2]} (shape ${describe(s)})`,
      `width ${widthName} = ${width}: ${what}`,
    );
  tensors.contents(argument, t);
  return t;
}

/** Key and value: both given (cross-attention) or neither (self-attention on the query). */
function checkKeyValue<T extends Shaped>(
  c: ResolvedMhaConfig<T>,
  query: T,
  o: Record<string, unknown>,
  tensors: TensorChecks<T>,
): [T, T] {
  if (o.key === undefined && o.value === undefined) {
    if (c.kdim !== c.embedDim || c.vdim !== c.embedDim) {
      throw new AttentionError(
        'options.key',
        'undefined (self-attention)',
        `key [B, Lk, ${c.kdim}] and value [B, Lk, ${c.vdim}]: kdim/vdim differ from embedDim ${c.embedDim}`,
      );
    }
    return [query, query];
  }
  if (o.key === undefined)
    throw new AttentionError('options.key', 'undefined with options.value given', `a key tensor [B, Lk, ${c.kdim}]`);
  if (o.value === undefined)
    throw new AttentionError('options.value', 'undefined with options.key given', `a value tensor [B, Lk, ${c.vdim}]`);
  const key = checkInput(tensors, 'options.key', o.key, c.kdim, 'kdim');
  const value = checkInput(tensors, 'options.value', o.value, c.vdim, 'vdim');
  const [B, Lk] = [query.shape[0], key.shape[1]];
  if (key.shape[0] !== B)
    throw new AttentionError(
      'options.key',
      `batch ${key.shape[0]} (shape ${describe(key.shape)})`,
      `batch ${B}, as the query`,
    );
  if (value.shape[0] !== B)
    throw new AttentionError(
      'options.value',
      `batch ${value.shape[0]} (shape ${describe(value.shape)})`,
      `batch ${B}, as the query`,
    );
  if (value.shape[1] !== Lk)
    throw new AttentionError(
      'options.value',
      `${value.shape[1]} keys (shape ${describe(value.shape)})`,
      `${Lk} keys, as options.key`,
    );
  return [key, value];
}

/** The `cache` option: self-attention only, a cache of the path that suits the layer, and a lower-right alignment. */
function checkCache<T extends Shaped>(
  c: ResolvedMhaConfig<T>,
  o: Record<string, unknown>,
  tensors: TensorChecks<T>,
  sizes: { B: number; L: number },
): KvCacheState | null {
  if (o.cache === undefined) return null;
  const argument = 'options.cache';
  if (!tensors.cache) throw new AttentionError(argument, describe(o.cache), 'no cache: this path has none');
  if (o.key !== undefined || o.value !== undefined) {
    throw new AttentionError(
      argument,
      'a cache with options.key / options.value (cross-attention)',
      "self-attention only: the cache holds K and V of x's earlier tokens; omit key and value",
    );
  }
  const cache = tensors.cache(argument, o.cache);
  checkLayerCache(cache, { ...sizes, kvHeads: c.numKvHeads, headDim: c.headDim });
  if (o.alignment !== undefined && o.alignment !== 'lower-right') {
    throw new AttentionError(
      'options.alignment',
      `${describe(o.alignment)} with a cache`,
      "'lower-right' (the default with a cache): x's tokens are the last L of the Lk attended",
    );
  }
  return cache;
}

function checkPadding<T extends Shaped>(value: unknown, B: number, Lk: number, tensors: TensorChecks<T>): T | null {
  if (value === undefined) return null;
  const argument = 'options.keyPaddingMask';
  const t = tensors.tensor(argument, value);
  const expected = `booleans [B, Lk] = [${B}, ${Lk}], 1 = padding (a Uint8Array host tensor or a GpuMask)`;
  if (!tensors.isBool(t)) throw new AttentionError(argument, 'a float tensor', expected);
  const s = t.shape;
  if (!Array.isArray(s) || s.length !== 2 || s[0] !== B || s[1] !== Lk)
    throw new AttentionError(argument, `shape ${describe(s)}`, expected);
  tensors.contents(argument, t);
  return t;
}

/**
 * Checks one forward call against a checked config: `x` is the query [B, L, embedDim].
 * @example
 * const call = validateMhaForward(config, x, { keyPaddingMask }, hostChecks);
 * call.outputShape; // [B, L, embedDim]
 */
export function validateMhaForward<T extends Shaped>(
  c: ResolvedMhaConfig<T>,
  x: unknown,
  options: unknown,
  tensors: TensorChecks<T>,
): ValidatedMhaForward<T> {
  const query = checkInput(tensors, 'x', x, c.embedDim, 'embedDim');
  const o = checkObject('options', options, FORWARD_KEYS, true);
  const [B, L] = [query.shape[0], query.shape[1]];
  const cache = checkCache(c, o, tensors, { B, L });
  const [key, value] = checkKeyValue(c, query, o, tensors);
  const pastLength = cache?.length ?? 0;
  const Lk = cache ? pastLength + L : key.shape[1];
  const sdpaDims: SdpaDims = { B, Hq: c.numHeads, Hkv: c.numKvHeads, Lq: L, Lk, D: c.headDim, Dv: c.headDim };
  const sdpaOptions = {
    scale: o.scale,
    causal: o.causal,
    alignment: cache ? 'lower-right' : o.alignment,
    window: o.window,
    sinkTokens: o.sinkTokens,
    alibiSlopes: o.alibiSlopes,
    sinks: o.sinks,
  } as ValidatedMhaForward<T>['sdpaOptions'];
  const attention = validateSdpaOptions({ ...sdpaOptions, layout: 'bshd' }, sdpaDims);
  let mask: ValidatedMhaForward<T>['mask'] = null;
  if (o.mask !== undefined) {
    const tensor = tensors.tensor('options.mask', o.mask);
    mask = { tensor, strides: validateMaskShape(tensor.shape, sdpaDims) };
    tensors.contents('options.mask', tensor);
  }
  const keyPaddingMask = checkPadding(o.keyPaddingMask, B, Lk, tensors);
  const needWeights = checkFlag('options.needWeights', o.needWeights, false);
  const averageHeads = checkFlag('options.averageHeads', o.averageHeads, true);
  const weightsShape = !needWeights ? null : averageHeads ? [B, L, Lk] : [B, c.numHeads, L, Lk];
  return {
    query,
    key,
    value,
    selfAttention: key === query && value === query,
    cache,
    pastLength,
    B,
    L,
    Lk,
    sdpaDims,
    attention,
    sdpaOptions,
    mask,
    keyPaddingMask,
    needWeights,
    averageHeads,
    outputShape: [B, L, c.embedDim],
    weightsShape,
  };
}
