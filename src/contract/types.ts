/** Shared option and host-tensor types of the public API (GPU and CPU reference alike). */
import type { BlockMask, Normalization } from './variants';

/** A tensor in host memory, row-major over `shape`. Uint8Array data is a boolean mask (1 = may attend). */
export interface HostTensor {
  readonly data: Float32Array | Float64Array | Uint8Array | readonly number[];
  readonly shape: readonly number[];
}

/** A host tensor the reference returns: float64 data. */
export interface HostResult {
  readonly data: Float64Array;
  readonly shape: number[];
}

/** `bhsd` = [B, H, L, D] (canonical); `bshd` = [B, L, H, D] (what a projection produces). */
export type Layout = 'bhsd' | 'bshd';

/** Where query i sits relative to the keys: offset 0 (`upper-left`) or Lk − Lq (`lower-right`). */
export type Alignment = 'upper-left' | 'lower-right';

/** Options shared by `attn.sdpa`, `attn.sdpaNaive` and `reference.sdpa`. `M` is the mask type. */
export interface SdpaOptionsOf<M> {
  /** Multiplies q·k. Default 1/√D. Must be finite and > 0. */
  scale?: number;
  /** Query i (at position p = i + offset) sees keys j ≤ p. */
  causal?: boolean;
  /** Default `'upper-left'`. */
  alignment?: Alignment;
  /** Float mask: added to the scores (−Infinity allowed). Boolean mask: 1 = may attend. Broadcasts over [B|1, H|1, Lq|1, Lk|1]. */
  mask?: M;
  /** c > 0: scores become c·tanh(s/c) before the mask. 0 or absent: off. */
  softcap?: number;
  /** Also return the per-row natural log-sum-exp of the logits, shape [B, Hq, Lq] (−Infinity for a fully masked row). */
  returnLse?: boolean;
  /** Layout of q, k, v and the output. Default `'bhsd'`. */
  layout?: Layout;
  /**
   * Sliding window: query i (at position p) sees keys j with p − left·dilation ≤ j ≤ p + right·dilation;
   * −1 = unbounded on that side. Combines with `causal` and `mask` (all must allow a key).
   */
  window?: SlidingWindow;
  /**
   * Dilated window (Longformer): query at p sees only keys p + k·dilation, for the k the window allows
   * (−left ≤ k ≤ right). Default 1. Without `window`, every key at a multiple of `dilation` from p.
   */
  dilation?: number;
  /**
   * Global tokens (Longformer): key positions (0 ≤ g < Lk, distinct) that every query sees whatever the
   * window, and whose queries (the query at position p = g) see every key. Causal and masks still apply.
   */
  globalTokens?: readonly number[];
  /**
   * Attention sinks (StreamingLLM): the first n keys stay visible whatever the sliding window (causal
   * and masks still apply). Default 0.
   */
  sinkTokens?: number;
  /**
   * ALiBi: one slope per query head; the logit of query position p and key j gets −slope·|p − j|, after
   * the softcap and before the mask. `alibiSlopes(numHeads)` gives the paper's schedule.
   */
  alibiSlopes?: readonly number[] | Float32Array | Float64Array;
  /**
   * Learned sinks (gpt-oss, ORT's head_sink): one logit per query head that joins each row's softmax
   * denominator and has no value, so the row's weights sum to less than 1.
   */
  sinks?: readonly number[] | Float32Array | Float64Array;
  /**
   * `'softmax'` (default) or `'sigmoid'`: weights sigmoid(s + sigmoidBias), not normalised over the
   * keys (sigmoid attention, 2024). Sigmoid takes no `sinks`, `topK` or `returnLse`.
   */
  normalization?: Normalization;
  /** b of sigmoid(s + b); default −ln Lk. Only with `normalization: 'sigmoid'`. */
  sigmoidBias?: number;
  /** Softmax over the n highest logits of each query only (after masks, causal and windows; ties to the lower key). 1 = hard attention. */
  topK?: number;
  /** Block-sparse attention: `{ mask, blockSize: [bq, bk] }`, mask a host boolean tensor [B|1, Hq|1, ⌈Lq/bq⌉, ⌈Lk/bk⌉]; blocks that are off are never computed. */
  blockMask?: BlockMask;
}

/** `{ left, right }` of a sliding window, in dilated steps; −1 = unbounded on that side. */
export interface SlidingWindow {
  left: number;
  right: number;
}

/** Reference options: the mask is a host tensor (Uint8Array data = boolean). */
export type ReferenceSdpaOptions = SdpaOptionsOf<HostTensor> & {
  /** Also return the attention weights [B, Hq, Lq, Lk]. */
  returnWeights?: boolean;
};
