/**
 * Neighbourhood attention (NATTEN semantics) on the CPU in float64: the oracle shaders/local.wgsl is
 * tested against. Written for clarity, not speed. The rule, per axis (the 2-D neighbourhood is the
 * product of both axes' windows), is in {@link axisWindow}.
 */
import { AttentionError, describe } from '../errors';
import {
  checkNeighborhoodOptions,
  neighborhoodStrides,
  validateNeighborhood,
  type NeighborhoodDims,
  type ResolvedNeighborhood,
  axisWindow,
} from '../contract/neighborhood';
import type { Neighborhood1dOptionsOf, Neighborhood2dOptionsOf } from '../contract/neighborhood-options';
import type { HostResult, HostTensor } from '../contract/types';
import { asHostTensor, checkHostLength } from './host';
import { accumulateRow, softmaxRow } from './softmax';

/** Options of `reference.neighborhood2d` (rpb: a HostTensor [Hq, 2ky−1, 2kx−1]). */
export type ReferenceNeighborhood2dOptions = Neighborhood2dOptionsOf<HostTensor>;
/** Options of `reference.neighborhood1d` (rpb: a HostTensor [Hq, 2k−1]). */
export type ReferenceNeighborhood1dOptions = Neighborhood1dOptionsOf<HostTensor>;

/** A host tensor with a list for a shape and data of its length (the contract checks the shape itself). */
function checkHost(argument: string, value: unknown): HostTensor {
  const t = asHostTensor(argument, value);
  if (!Array.isArray(t.shape)) throw new AttentionError(argument, describe(value), 'a host tensor { data, shape }');
  checkHostLength(argument, t);
  return t;
}

interface Inputs {
  q: HostTensor;
  k: HostTensor;
  v: HostTensor;
  rpb: HostTensor | null;
  dims: NeighborhoodDims;
  o: ResolvedNeighborhood;
  outputShape: number[];
}

function validate(rank: 1 | 2, q: unknown, k: unknown, v: unknown, options: unknown): Inputs {
  const qt = checkHost('q', q);
  const kt = checkHost('k', k);
  const vt = checkHost('v', v);
  const o = checkNeighborhoodOptions(options);
  const rpb = o.rpb === undefined ? null : checkHost('options.rpb', o.rpb);
  const validated = validateNeighborhood(rank, { q: qt.shape, k: kt.shape, v: vt.shape, rpb: rpb?.shape }, o);
  return { q: qt, k: kt, v: vt, rpb, dims: validated.dims, o: validated.options, outputShape: validated.outputShape };
}

/** Offset of element (b, h, y, x, 0) of a [B, H, Y, X, dim] tensor in the call's layout. */
function indexer(o: ResolvedNeighborhood, dims: NeighborhoodDims, H: number, dim: number) {
  const [sb, sh, sy, sx] = neighborhoodStrides(o.layout, H, dims.Y, dims.X, dim);
  return (b: number, h: number, y: number, x: number) => b * sb + h * sh + y * sy + x * sx;
}

type Indexer = ReturnType<typeof indexer>;
interface Indexers {
  qAt: Indexer;
  kAt: Indexer;
  vAt: Indexer;
  oAt: Indexer;
}

/** Output of one query: softmax over its neighbourhood of scale·q·k + bias, times V. */
function attendOne(inp: Inputs, at: Indexers, b: number, h: number, iy: number, ix: number, out: Float64Array): void {
  const { q, k, v, rpb, dims, o } = inp;
  const { qAt, kAt, vAt, oAt } = at;
  const hk = Math.floor(h / (dims.Hq / dims.Hkv));
  const [ky, kx] = o.kernel;
  const [dy, dx] = o.dilation;
  const keys: [number, number][] = [];
  for (const jy of axisWindow(iy, dims.Y, ky, dy, o.causal[0]))
    for (const jx of axisWindow(ix, dims.X, kx, dx, o.causal[1])) keys.push([jy, jx]);
  const qa = qAt(b, h, iy, ix);
  const logits = Float64Array.from(keys, ([jy, jx]) => {
    const ka = kAt(b, hk, jy, jx);
    let dot = 0;
    for (let d = 0; d < dims.D; d++) dot += Number(q.data[qa + d]) * Number(k.data[ka + d]);
    const bias = rpb
      ? Number(rpb.data[(h * (2 * ky - 1) + (jy - iy) / dy + ky - 1) * (2 * kx - 1) + (jx - ix) / dx + kx - 1])
      : 0;
    return o.scale * dot + bias;
  });
  // The same softmax as sdpa: an rpb of −∞ removes a key, NaN and +∞ make the row NaN.
  const weights = new Float64Array(keys.length);
  softmaxRow(logits, weights);
  accumulateRow(logits, weights, (n) => vAt(b, hk, keys[n][0], keys[n][1]), v.data, dims.Dv, out, oAt(b, h, iy, ix));
}

function compute(inp: Inputs): HostResult {
  const { dims, o } = inp;
  const { B, Hq, Y, X, Dv } = dims;
  const at: Indexers = {
    qAt: indexer(o, dims, Hq, dims.D),
    kAt: indexer(o, dims, dims.Hkv, dims.D),
    vAt: indexer(o, dims, dims.Hkv, Dv),
    oAt: indexer(o, dims, Hq, Dv),
  };
  const out = new Float64Array(B * Hq * Y * X * Dv);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      for (let iy = 0; iy < Y; iy++) for (let ix = 0; ix < X; ix++) attendOne(inp, at, b, h, iy, ix, out);
    }
  }
  return { data: out, shape: inp.outputShape };
}

/**
 * 2-D neighbourhood attention in float64. q [B, Hq, Y, X, D] ('bhyxd') or [B, Y, X, Hq, D]
 * ('byxhd'); returns [B, Hq, Y, X, Dv] in the same layout. Throws {@link AttentionError}.
 * @example
 * const out = neighborhood2d(q, k, v, { kernel: 3, dilation: [1, 2], rpb }); // { data: Float64Array, shape }
 */
export function neighborhood2d(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options: ReferenceNeighborhood2dOptions,
): HostResult {
  return compute(validate(2, q, k, v, options));
}

/**
 * 1-D neighbourhood attention in float64: q [B, Hq, L, D] ('bhsd') or [B, L, Hq, D] ('bshd').
 * @example
 * const out = neighborhood1d(q, k, v, { kernel: 5, causal: true });
 */
export function neighborhood1d(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options: ReferenceNeighborhood1dOptions,
): HostResult {
  return compute(validate(1, q, k, v, options));
}
