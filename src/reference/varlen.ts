/**
 * Variable-length (packed) attention on the CPU in float64, by its definition: each sequence alone
 * through reference.sdpa (layout bshd, batch 1), its output rows and log-sum-exp put back in place.
 */
import type { HostResult, HostTensor } from '../contract/types';
import { validateVarlenCall, sdpaOptionsOf, type VarlenOptions, type VarlenSequence } from '../contract/varlen';
import { asHostTensor, checkHostLength } from './host';
import { sdpa } from './sdpa';

/** What `reference.sdpaVarlen` returns with `returnLse`. */
export interface ReferenceVarlenOutputs {
  /** [totalQ, Hq, Dv]. */
  output: HostResult;
  /** [Hq, totalQ]: FlashAttention's varlen layout; −Infinity for a row with no key. */
  lse: HostResult;
}

/** Rows start … start + length − 1 of a packed [tokens, heads, dim] tensor, as a bshd tensor of batch 1. */
function rows(t: HostTensor, start: number, length: number): HostTensor {
  const [, heads, dim] = t.shape;
  const from = start * heads * dim;
  return { data: t.data.slice(from, from + length * heads * dim), shape: [1, length, heads, dim] };
}

/** One sequence through reference.sdpa; a sequence with no key outputs zeros and lse −∞, as sdpa's empty rows. */
function sequenceAlone(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  s: VarlenSequence,
  options: VarlenOptions,
): { output: Float64Array; lse: Float64Array } {
  const { Hq, Lq, Lk, Dv } = s.dims;
  if (Lk === 0) return { output: new Float64Array(Lq * Hq * Dv), lse: new Float64Array(Hq * Lq).fill(-Infinity) };
  const result = sdpa(rows(q, s.qStart, Lq), rows(k, s.kStart, Lk), rows(v, s.kStart, Lk), {
    ...sdpaOptionsOf(options),
    layout: 'bshd',
    returnLse: true,
  });
  return { output: result.output.data, lse: result.lse.data };
}

/** sdpaVarlen returning the log-sum-exp. */
export function sdpaVarlen(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options: VarlenOptions & { returnLse: true },
): ReferenceVarlenOutputs;
/** sdpaVarlen returning the output only. */
export function sdpaVarlen(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options: VarlenOptions & { returnLse?: false },
): HostResult;
/** sdpaVarlen whose return shape is only known at run time. */
export function sdpaVarlen(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options: VarlenOptions,
): HostResult | ReferenceVarlenOutputs;
/**
 * Packed variable-length attention in float64 (FlashAttention's flash_attn_varlen_func): q
 * [totalQ, Hq, D], k [totalK, Hkv, D], v [totalK, Hkv, Dv]; sequence b's queries (rows
 * cuSeqlensQ[b] … cuSeqlensQ[b + 1] − 1) attend only to its own keys. Returns [totalQ, Hq, Dv], or
 * `{ output, lse }` with lse [Hq, totalQ]. Throws {@link AttentionError} naming the bad argument.
 * @example
 * const q = { data: new Float32Array(5 * 2 * 4), shape: [5, 2, 4] };           // sequences of 2 and 3 tokens
 * reference.sdpaVarlen(q, q, q, { cuSeqlensQ: [0, 2, 5], cuSeqlensK: [0, 2, 5], causal: true }).shape; // [5, 2, 4]
 */
export function sdpaVarlen(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  options: VarlenOptions,
): HostResult | ReferenceVarlenOutputs {
  const [qt, kt, vt] = [asHostTensor('q', q), asHostTensor('k', k), asHostTensor('v', v)];
  const call = validateVarlenCall(qt.shape, kt.shape, vt.shape, options);
  checkHostLength('q', qt);
  checkHostLength('k', kt);
  checkHostLength('v', vt);
  const { totalQ, Hq, Dv } = call.dims;
  const out = new Float64Array(totalQ * Hq * Dv);
  const lse = new Float64Array(Hq * totalQ);
  for (const s of call.sequences) {
    const alone = sequenceAlone(qt, kt, vt, s, options);
    out.set(alone.output, s.qStart * Hq * Dv);
    for (let h = 0; h < Hq; h++) lse.set(alone.lse.subarray(h * s.dims.Lq, (h + 1) * s.dims.Lq), h * totalQ + s.qStart);
  }
  const output: HostResult = { data: out, shape: [totalQ, Hq, Dv] };
  return call.returnLse ? { output, lse: { data: lse, shape: [Hq, totalQ] } } : output;
}
