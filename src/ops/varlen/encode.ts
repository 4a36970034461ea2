/**
 * The dispatches of a packed call: the flash kernel once per sequence with queries, on views of the
 * packed buffers (element offsets at the sequence's first row, bshd strides over [tokens, heads,
 * dim] with batch 1), writing its rows of the packed output in place. The flash kernel writes lse
 * as [B, Hq, Lq] from element 0 of its binding, with no offset or stride, so with returnLse each
 * sequence's lse goes to a scratch buffer and a 1×1 GEMM by 1.0 (exact, NaN and ±∞ included)
 * copies it into columns qStart … of lse [Hq, totalQ]. The op gives it the output, the lse scratch
 * and the 1.0; encodeFlash may take scratch of its own from runtime.scope (a key split's partials).
 */
import type { VarlenDims, VarlenSequence } from '../../contract/varlen';
import type { GpuRuntime, KernelDispatch } from '../../gpu/runtime';
import type { TensorBinding } from '../../tensor';
import { encodeMatmul, type MatmulOperand } from '../linear/encode';
import type { MatmulPlan } from '../linear/plan';
import { encodeFlash } from '../sdpa/encode';
import type { AttentionOperands, AttentionView } from '../sdpa/operands';
import type { VarlenPlan } from './plan';
import type { ValidatedGpuVarlen } from './validate';

/**
 * Rows start … of a packed [tokens, heads, dim] tensor as an attention view of batch 1: element
 * (0, h, i, d) at element (start + i, h, d). The tensor is row-major (checkTensor refuses views);
 * `f16`: its elements are halves.
 */
function rowsView(binding: TensorBinding, start: number, heads: number, dim: number, f16 = false): AttentionView {
  const { resource, elementOffset } = binding;
  return { resource, elementOffset: elementOffset + start * heads * dim, strides: [0, dim, heads * dim], f16 };
}

/** One sequence as an sdpa call on views of the packed q, k, v and output [totalQ, Hq, Dv]. */
export function sequenceOperands(
  call: ValidatedGpuVarlen,
  s: VarlenSequence,
  out: GPUBufferBinding,
): AttentionOperands {
  const { Hq, Hkv, D, Dv } = s.dims;
  return {
    dims: s.dims,
    options: s.options,
    q: rowsView(call.q.binding(), s.qStart, Hq, D, call.q.dtype === 'f16'),
    k: rowsView(call.k.binding(), s.kStart, Hkv, D, call.k.dtype === 'f16'),
    v: rowsView(call.v.binding(), s.kStart, Hkv, Dv, call.v.dtype === 'f16'),
    out: rowsView({ resource: out, elementOffset: 0 }, s.qStart, Hq, Dv),
    mask: null,
    keyPadding: null,
  };
}

/** Where the lse of the sequences goes: the packed output and the scratch and 1.0 of the copies. */
export interface VarlenLse {
  /** [Hq, totalQ]. */
  target: GPUBufferBinding;
  /** At least Hq · (longest Lq) f32s: one sequence's [1, Hq, Lq] at a time. */
  scratch: GPUBufferBinding;
  /** One f32 holding 1.0: the copies' weight. */
  one: GPUBufferBinding;
}

/** The GEMM that copies a sequence's lse [Hq, Lq] from the scratch to lse[h, qStart + i]. */
function encodeLseCopy(
  runtime: GpuRuntime,
  dims: VarlenDims,
  s: VarlenSequence,
  lse: VarlenLse,
  plan: MatmulPlan,
): KernelDispatch {
  const at = (buffer: GPUBufferBinding): MatmulOperand => ({ buffer, elementOffset: 0 });
  const { Hq, Lq } = s.dims;
  // Row m = h·Lq + i of the [Hq·Lq, 1] product is "batch" h, row i: h·totalQ + qStart + i.
  const out = { buffer: lse.target, elementOffset: s.qStart, rowsPerBatch: Lq, headDim: 1 };
  return encodeMatmul(
    runtime,
    {
      x: at(lse.scratch),
      xStrideM: 1,
      M: Hq * Lq,
      K: 1,
      weight: at(lse.one),
      N: 1,
      out: { ...out, strideB: dims.totalQ, strideL: 1, strideH: 0 },
    },
    plan,
  );
}

/**
 * Every dispatch of a packed call, in order (each sequence's lse copy right after its flash pass,
 * which is what lets them share one scratch). The caller submits them inside `runtime.submit`.
 * @example
 * const dispatches = encodeVarlen(runtime, call, planVarlen(call, device.limits), out, null);
 */
export function encodeVarlen(
  runtime: GpuRuntime,
  call: ValidatedGpuVarlen,
  plan: VarlenPlan,
  out: GPUBufferBinding,
  lse: VarlenLse | null,
): KernelDispatch[] {
  const dispatches: KernelDispatch[] = [];
  for (const step of plan.steps) {
    const ops = sequenceOperands(call, step.sequence, out);
    // [x].flat(): one dispatch or a list of them (a split-K pass and its merge) alike.
    dispatches.push(...[encodeFlash(runtime, ops, step.flash, lse && lse.scratch)].flat());
    if (lse && step.lseCopy) dispatches.push(encodeLseCopy(runtime, call.dims, step.sequence, lse, step.lseCopy));
  }
  return dispatches;
}
