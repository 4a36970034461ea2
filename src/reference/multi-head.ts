/**
 * A multi-head-attention layer on the CPU in float64: projections (PyTorch `nn.Linear` layout),
 * rotary embeddings, grouped-query `reference.sdpa` in layout 'bshd', key-padding masks, and the
 * output projection. The oracle for `attn.multiHeadAttention`; written for clarity, not speed.
 */
import { validateMhaConfig } from '../contract/multi-head-config';
import { validateMhaForward } from '../contract/multi-head-forward';
import type {
  MhaConfigOf,
  MhaForwardOptionsOf,
  MhaProjection,
  ResolvedMhaConfig,
  ResolvedRotary,
  TensorChecks,
  ValidatedMhaForward,
} from '../contract/multi-head-options';
import type { HostResult, HostTensor, ReferenceSdpaOptions } from '../contract/types';
import { AttentionError, describe } from '../errors';
import { asHostTensor, checkHostLength } from './host';
import { ReferenceKvCache } from './kv-cache';
import { linear } from './linear';
import { sdpaWithKeyPadding } from './sdpa';

/** Config of `reference.multiHeadAttention`: weights are host tensors. */
export type ReferenceMhaConfig = MhaConfigOf<HostTensor>;

/** Options of the reference layer's `forward`: key, value and masks are host tensors; the cache a host cache. */
export type ReferenceMhaOptions = MhaForwardOptionsOf<HostTensor, HostTensor, HostTensor, ReferenceKvCache>;

/** What `forward` returns with `needWeights: true`. */
export interface ReferenceMhaOutputs {
  /** [B, L, embedDim]. */
  output: HostResult;
  /** [B, L, Lk] averaged over heads (averageHeads, the default) or [B, numHeads, L, Lk]; a row with no key is zeros. */
  weights: HostResult;
}

type Data = HostTensor['data'];

/** Host tensors: `{ data, shape }` whose data length matches; Uint8Array data is boolean. */
const HOST_CHECKS: TensorChecks<HostTensor> = {
  tensor: asHostTensor,
  isBool: (t) => t.data instanceof Uint8Array,
  contents: checkHostLength,
  cache(argument, value) {
    if (!(value instanceof ReferenceKvCache)) {
      throw new AttentionError(argument, describe(value), 'a KV cache made by reference.kvCache()');
    }
    value.assertLive(argument);
    return value;
  },
};

/** [B, X, Y, D] → [B, Y, X, D]: bshd ↔ bhsd. */
function swapMiddle(x: ArrayLike<number>, B: number, X: number, Y: number, D: number): Float64Array {
  const out = new Float64Array(B * X * Y * D);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < X; i++)
      for (let j = 0; j < Y; j++) {
        const [from, to] = [((b * X + i) * Y + j) * D, ((b * Y + j) * X + i) * D];
        for (let d = 0; d < D; d++) out[to + d] = x[from + d];
      }
  return out;
}

/**
 * Appends this call's k and v [B, L, Hkv, headDim] to the cache and returns every key and value it
 * holds, [B, Lk, Hkv, headDim].
 */
function throughCache(cache: ReferenceKvCache, k: Float64Array, v: Float64Array, B: number, L: number) {
  const [H, hd] = [cache.kvHeads, cache.headDim];
  const shape = [B, H, L, hd];
  cache.append({ data: swapMiddle(k, B, L, H, hd), shape }, { data: swapMiddle(v, B, L, H, hd), shape });
  const Lk = cache.length;
  return { k: swapMiddle(cache.keys.data, B, H, Lk, hd), v: swapMiddle(cache.values.data, B, H, Lk, hd) };
}

/** x [M, inDim] through rows [row, row + rows) of the projection's weight and bias: [M, rows]. */
function project(x: Data, M: number, p: MhaProjection<HostTensor>): Float64Array {
  const rows = (t: HostTensor, width: number): HostTensor => {
    if (p.row === 0 && t.shape[0] === p.rows) return t;
    return {
      data: t.data.slice(p.row * width, (p.row + p.rows) * width),
      shape: width === 1 ? [p.rows] : [p.rows, width],
    };
  };
  const bias = p.bias && rows(p.bias, 1);
  return linear({ data: x, shape: [M, p.inDim] }, rows(p.weight, p.inDim), bias).data;
}

/**
 * Rotates each head of x [B, L, H, headDim] in place: pairs (i, i + dim/2) (NeoX) or (2i, 2i+1)
 * (GPT-J) for i < dim/2, by angle (l + positionOffset) · base^(−2i/dim).
 */
function applyRotary(x: Float64Array, L: number, H: number, headDim: number, r: ResolvedRotary): void {
  const half = r.dim / 2;
  const rows = x.length / headDim;
  for (let row = 0; row < rows; row++) {
    const pos = (Math.floor(row / H) % L) + r.positionOffset;
    const at = row * headDim;
    for (let i = 0; i < half; i++) {
      const angle = pos * r.base ** ((-2 * i) / r.dim);
      const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
      const a = at + (r.interleaved ? 2 * i : i);
      const b = at + (r.interleaved ? 2 * i + 1 : i + half);
      const [xa, xb] = [x[a], x[b]];
      x[a] = xa * cos - xb * sin;
      x[b] = xa * sin + xb * cos;
    }
  }
}

/** Mean over heads: [B, H, L, Lk] → [B, L, Lk]. */
function averageHeads(w: Float64Array, B: number, H: number, L: number, Lk: number): Float64Array {
  const out = new Float64Array(B * L * Lk);
  const plane = L * Lk;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      for (let e = 0; e < plane; e++) out[b * plane + e] += w[(b * H + h) * plane + e] / H;
    }
  return out;
}

/**
 * A multi-head-attention layer on the CPU. Made by `reference.multiHeadAttention(config)`, which
 * checks the config and weights; `forward` checks its inputs. Holds the weights by reference.
 * @example
 * const mha = reference.multiHeadAttention({ embedDim: 8, numHeads: 2, weights: { q, k, v, o } });
 * mha.config.headDim; // 4
 */
export class ReferenceMultiHeadAttention {
  /** The checked config, defaults applied. */
  readonly config: ResolvedMhaConfig<HostTensor>;

  constructor(config: ReferenceMhaConfig) {
    this.config = validateMhaConfig(config, HOST_CHECKS);
  }

  /** forward returning the attention weights too. */
  forward(x: HostTensor, options: ReferenceMhaOptions & { needWeights: true }): ReferenceMhaOutputs;
  /** forward returning the output [B, L, embedDim]. */
  forward(x: HostTensor, options?: ReferenceMhaOptions & { needWeights?: false }): HostResult;
  /** forward whose return shape is only known at run time. */
  forward(x: HostTensor, options?: ReferenceMhaOptions): HostResult | ReferenceMhaOutputs;
  /**
   * Runs the layer: self-attention on x [B, L, embedDim], or cross-attention with options.key and
   * options.value. Throws {@link AttentionError} naming the bad argument.
   * @example
   * const y = mha.forward(x, { causal: true });                     // [B, L, embedDim]
   * const { output, weights } = mha.forward(x, { needWeights: true }); // weights [B, L, L]
   */
  forward(x: HostTensor, options?: ReferenceMhaOptions): HostResult | ReferenceMhaOutputs {
    const c = this.config;
    const call = validateMhaForward(c, x, options, HOST_CHECKS);
    const { B, L, Lk } = call;
    const fresh = call.key.shape[1]; // keys this call projects: all Lk, or with a cache the L of x
    const q = project(call.query.data, B * L, c.q);
    let k = project(call.key.data, B * fresh, c.k);
    let v = project(call.value.data, B * fresh, c.v);
    if (c.rotary) {
      // With a cache, x's tokens sit after the pastLength it held.
      const r = { ...c.rotary, positionOffset: c.rotary.positionOffset + call.pastLength };
      applyRotary(q, L, c.numHeads, c.headDim, r);
      applyRotary(k, fresh, c.numKvHeads, c.headDim, r);
    }
    if (call.cache) ({ k, v } = throughCache(call.cache as ReferenceKvCache, k, v, B, L));
    const sdpaOptions: ReferenceSdpaOptions = {
      ...call.sdpaOptions,
      layout: 'bshd',
      mask: call.mask?.tensor,
      returnWeights: call.needWeights,
    };
    const r = sdpaWithKeyPadding(
      { data: q, shape: [B, L, c.numHeads, c.headDim] },
      { data: k, shape: [B, Lk, c.numKvHeads, c.headDim] },
      { data: v, shape: [B, Lk, c.numKvHeads, c.headDim] },
      sdpaOptions,
      call.keyPaddingMask?.data,
    );
    const attention = 'output' in r ? r.output : r;
    const output: HostResult = { data: project(attention.data, B * L, c.o), shape: call.outputShape };
    if (!('output' in r) || !r.weights) return output;
    const data = call.averageHeads ? averageHeads(r.weights.data, B, c.numHeads, L, Lk) : r.weights.data;
    return { output, weights: { data, shape: call.weightsShape as number[] } };
  }

  /** Nothing to free on the CPU; here so code can switch between this and the GPU layer. */
  destroy(): void {}
}

/**
 * A multi-head-attention layer in float64 (`torch.nn.MultiheadAttention`, batch-first, plus
 * grouped-query heads and rotary embeddings). Throws {@link AttentionError} for a bad config.
 * @example
 * const mha = multiHeadAttention({ embedDim: 8, numHeads: 2, weights: { q, k, v, o } });
 * const y = mha.forward({ data: new Float32Array(2 * 5 * 8), shape: [2, 5, 8] }); // [2, 5, 8]
 */
export function multiHeadAttention(config: ReferenceMhaConfig): ReferenceMultiHeadAttention {
  return new ReferenceMultiHeadAttention(config);
}
