/**
 * Host-side helpers of the KV-cache tests (reference and Node rings): token ranges of bhsd and
 * batch-first tensors (float32 stays float32, anything else comes out float64, so a reference
 * result is never rounded), and decode schedules (a prefill, then steps).
 */
import type { HostTensor } from '../../src/index';

/** A slice: Float32Array data for float32 input (to upload), Float64Array otherwise. */
export interface Slice<T> {
  data: T;
  shape: number[];
}
type Out<T extends HostTensor> = Slice<T['data'] extends Float32Array ? Float32Array : Float64Array>;

function like(data: HostTensor['data'], n: number): Float32Array | Float64Array {
  return data instanceof Float32Array ? new Float32Array(n) : new Float64Array(n);
}

/** Tokens [from, to) of x [B, H, L, D] (layout bhsd): [B, H, to − from, D]. */
export function tokens<T extends HostTensor>(x: T, from: number, to: number): Out<T> {
  const [B, H, L, D] = x.shape;
  const n = to - from;
  const out = like(x.data, B * H * n * D);
  for (let bh = 0; bh < B * H; bh++)
    for (let e = 0; e < n * D; e++) out[bh * n * D + e] = x.data[(bh * L + from) * D + e];
  return { data: out, shape: [B, H, n, D] } as Out<T>;
}

/** Rows [from, to) of x [B, L, E] (batch first): [B, to − from, E]. */
export function rows<T extends HostTensor>(x: T, from: number, to: number): Out<T> {
  const [B, L, E] = x.shape;
  const n = to - from;
  const out = like(x.data, B * n * E);
  for (let b = 0; b < B; b++) for (let e = 0; e < n * E; e++) out[b * n * E + e] = x.data[(b * L + from) * E + e];
  return { data: out, shape: [B, n, E] } as Out<T>;
}

/** Consecutive [from, to) ranges covering 0 … total: the given chunk sizes, then steps of `step`. */
export function schedule(total: number, first: number[], step = 1): [number, number][] {
  const out: [number, number][] = [];
  let at = 0;
  for (const n of first) {
    out.push([at, at + n]);
    at += n;
  }
  for (; at < total; at += step) out.push([at, Math.min(total, at + step)]);
  return out;
}
