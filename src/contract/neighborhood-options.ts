/**
 * Option types of neighbourhood attention (NATTEN semantics), shared by the GPU operations
 * (`attn.neighborhood2d`, `attn.neighborhood1d`) and the CPU reference. `T` is the type of the
 * relative-position-bias tensor: a GpuTensor on the GPU, a HostTensor in the reference.
 */
import type { Layout } from './types';

/** `'bhyxd'` = [B, H, Y, X, D] (default); `'byxhd'` = [B, Y, X, H, D] (channels-last). */
export type NeighborhoodLayout2d = 'bhyxd' | 'byxhd';

/**
 * Options of 2-D neighbourhood attention.
 * @example
 * const options: Neighborhood2dOptionsOf<GpuTensor> = { kernel: [7, 5], dilation: 2, causal: [true, false] };
 */
export interface Neighborhood2dOptionsOf<T> {
  /** Odd window size per axis, `[ky, kx]` or one number for both; kernel·dilation ≤ axis length. */
  kernel: number | readonly [number, number];
  /** Dilation per axis, `[dy, dx]` or one number for both. Default 1. */
  dilation?: number | readonly [number, number];
  /** Causal per axis (`[cy, cx]`) or for both: a query never sees a later key on that axis. Default false. */
  causal?: boolean | readonly [boolean, boolean];
  /** Relative position bias `[Hq, 2ky−1, 2kx−1]`, added to the scaled scores. */
  rpb?: T;
  /** Multiplies q·k. Default 1/√D. Must be finite and > 0. */
  scale?: number;
  /** Layout of q, k, v and the output. Default `'bhyxd'`. */
  layout?: NeighborhoodLayout2d;
}

/**
 * Options of 1-D neighbourhood attention (the 2-D path with Y = 1).
 * @example
 * const options: Neighborhood1dOptionsOf<GpuTensor> = { kernel: 7, dilation: 3, causal: true };
 */
export interface Neighborhood1dOptionsOf<T> {
  /** Odd window size; kernel·dilation ≤ L. */
  kernel: number;
  /** Default 1. */
  dilation?: number;
  /** A query never sees a later key. Default false. */
  causal?: boolean;
  /** Relative position bias `[Hq, 2k−1]`, added to the scaled scores. */
  rpb?: T;
  /** Multiplies q·k. Default 1/√D. */
  scale?: number;
  /** `'bhsd'` = [B, H, L, D] (default) or `'bshd'` = [B, L, H, D]. */
  layout?: Layout;
}
