/**
 * The dispatches of a paged call: the flash kernel once per batch row (with a key split where the
 * plan chose one), reading k and v through the row's page table. q and the output are views of
 * row b of [B, Hq, Lq, D|Dv] (either layout); the lse of row b lands at element b·Hq·Lq of
 * [B, Hq, Lq].
 */
import type { GpuRuntime, KernelDispatch } from '../../gpu/runtime';
import { encodeFlash } from '../sdpa/encode';
import { layoutStrides, tensorView, type AttentionOperands, type AttentionView } from '../sdpa/operands';
import type { PagedStep } from './plan';
import type { ValidatedPaged } from './validate';

/** The pool [numPages, Hkv, pageSize, dim] as a view whose batch stride is the page stride. */
function poolView(call: ValidatedPaged, which: 'keys' | 'values'): AttentionView {
  const pool = call.state[which];
  const [, H, P, dim] = pool.shape;
  const { resource, elementOffset } = pool.binding();
  return { resource, elementOffset, strides: [H * P * dim, P * dim, dim], f16: pool.dtype === 'f16' };
}

/** View `v` moved to batch row b. */
const atRow = (v: AttentionView, b: number): AttentionView => ({
  ...v,
  elementOffset: v.elementOffset + b * v.strides[0],
});

/** Batch row b of the call as an sdpa call of batch 1 on views. */
function rowOperands(call: ValidatedPaged, step: PagedStep, out: GPUBufferBinding): AttentionOperands {
  const { Hq, Lq, Dv } = call.dims;
  const b = step.row.row;
  const output: AttentionView = { resource: out, elementOffset: 0, strides: layoutStrides(call.layout, Hq, Lq, Dv) };
  return {
    dims: step.row.dims,
    options: step.row.options,
    q: atRow(tensorView(call.q, call.layout), b),
    k: poolView(call, 'keys'),
    v: poolView(call, 'values'),
    out: atRow(output, b),
    mask: null,
    keyPadding: null,
    pages: { table: step.row.pages, pageSize: call.state.options.pageSize },
  };
}

/**
 * Every dispatch of a paged call, in batch order. Call inside `runtime.submit`.
 * @example
 * const dispatches = encodePaged(runtime, call, planPaged(call.rows, device.limits), out, null);
 */
export function encodePaged(
  runtime: GpuRuntime,
  call: ValidatedPaged,
  steps: readonly PagedStep[],
  out: GPUBufferBinding,
  lse: GPUBufferBinding | null,
): KernelDispatch[] {
  const { Hq, Lq } = call.dims;
  return steps.flatMap((step) => {
    const lseView = lse && { resource: lse, elementOffset: step.row.row * Hq * Lq };
    return encodeFlash(runtime, rowOperands(call, step, out), step.flash, lseView);
  });
}
