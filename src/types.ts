/** Shared option and host-tensor types of the public API (GPU and CPU reference alike). */

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
}

/** Reference options: the mask is a host tensor (Uint8Array data = boolean). */
export type ReferenceSdpaOptions = SdpaOptionsOf<HostTensor> & {
  /** Also return the attention weights [B, Hq, Lq, Lk]. */
  returnWeights?: boolean;
};
