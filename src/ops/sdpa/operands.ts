/**
 * Attention operands as the two sdpa kernels (flash and naive) bind them: views of buffers with
 * offsets and strides, the optional inputs (mask, window, key padding) with their uniforms and
 * overrides. The multi-head layer builds the same operands over its projection buffers.
 */
import { blockMaskBits, type TileBits } from './block-tiles';
import { tableArguments, type PageTable } from './tables';
import type { Layout } from '../../contract/types';
import type { ResolvedSdpaOptions, SdpaDims } from '../../contract/sdpa';
import type { GpuRuntime } from '../../gpu/runtime';
import type { GpuMask, GpuTensor, TensorBinding } from '../../tensor';
import type { CheckedMask, ValidatedSdpa } from './validate';

/** Element strides of a [B, H, L, D]-sized tensor in a layout: batch, head, sequence (d is 1). */
export function layoutStrides(layout: Layout, heads: number, length: number, dim: number): [number, number, number] {
  return layout === 'bshd' ? [length * heads * dim, dim, heads * dim] : [heads * length * dim, length * dim, dim];
}

/** Uniform fields `<prefix>_offset`, `<prefix>_stride_b/h/s` for one tensor. */
export function tensorUniforms(
  prefix: string,
  binding: Pick<TensorBinding, 'elementOffset'>,
  strides: [number, number, number],
): Record<string, number> {
  return {
    [`${prefix}_offset`]: binding.elementOffset,
    [`${prefix}_stride_b`]: strides[0],
    [`${prefix}_stride_h`]: strides[1],
    [`${prefix}_stride_s`]: strides[2],
  };
}

/**
 * Where one attention operand lies: a buffer range, the element offset of element (0, 0, 0, 0) in
 * it, and element strides over batch, head and sequence (the head dim is contiguous).
 */
export interface AttentionView {
  resource: GPUBufferBinding;
  elementOffset: number;
  strides: [number, number, number];
  /** Whether the elements are f16 halves, two to a word (elementOffset and strides count halves); absent: f32. */
  f16?: boolean;
}

/** Where the log-sum-exp [B, Hq, Lq] goes: a binding, and the element of it that holds row 0's. */
export interface LseView {
  resource: GPUBufferBinding;
  elementOffset: number;
}

/**
 * A tensor as an attention view. Given a layout: the tensor's own element strides (row-major, or a
 * KV cache's view) over batch, head and sequence in that layout's order. Given strides (a
 * contiguous tensor read in another shape): those.
 */
export function tensorView(tensor: GpuTensor, layout: Layout | [number, number, number]): AttentionView {
  const { resource, elementOffset } = tensor.binding();
  const f16 = tensor.dtype === 'f16';
  if (Array.isArray(layout)) return { resource, elementOffset, strides: layout, f16 };
  const [b, second, third] = tensor.strides;
  return { resource, elementOffset, strides: layout === 'bshd' ? [b, third, second] : [b, second, third], f16 };
}

/** Uniform fields `<prefix>_offset`, `<prefix>_stride_b/h/s` for one view. */
export function viewUniforms(prefix: string, view: AttentionView): Record<string, number> {
  return tensorUniforms(prefix, view, view.strides);
}

/** Key-padding binding, uniforms and override: a [B, Lk] GpuMask (1 = padding), or the dummy buffer. */
export function keyPaddingArguments(
  runtime: GpuRuntime,
  padding: GpuMask | null,
  kvLen: number,
): {
  resource: GPUBufferBinding;
  uniforms: Record<string, number>;
  overrides: { HAS_KEY_PADDING: boolean };
} {
  if (!padding)
    return {
      resource: { buffer: runtime.dummy },
      uniforms: { kp_offset: 0, kp_stride_b: 0 },
      overrides: { HAS_KEY_PADDING: false },
    };
  const { resource, elementOffset } = padding.binding();
  return { resource, uniforms: { kp_offset: elementOffset, kp_stride_b: kvLen }, overrides: { HAS_KEY_PADDING: true } };
}

/** Mask binding and uniforms; the dummy buffer and zero strides when there is no mask. */
export function maskArguments(
  runtime: GpuRuntime,
  checked: CheckedMask | null,
): { resource: GPUBufferBinding; uniforms: Record<string, number> } {
  if (!checked) {
    return {
      resource: { buffer: runtime.dummy },
      uniforms: { m_offset: 0, m_stride_b: 0, m_stride_h: 0, m_stride_q: 0, m_stride_k: 0 },
    };
  }
  const binding = checked.binding ?? checked.mask.binding();
  const { b, h, i, j } = checked.strides;
  return {
    resource: binding.resource,
    uniforms: { m_offset: binding.elementOffset, m_stride_b: b, m_stride_h: h, m_stride_q: i, m_stride_k: j },
  };
}

/**
 * An attention call on views of buffers (the internal entry): a layer's projections write q, k
 * and v in their own layout, and the output goes where the next GEMM reads it. Nothing here is
 * checked again: the caller validated sizes, and every view must cover what the strides address.
 */
export interface AttentionOperands {
  dims: SdpaDims;
  options: ResolvedSdpaOptions;
  q: AttentionView;
  k: AttentionView;
  v: AttentionView;
  /** Where output (b, h, i, c) goes, for [B, Hq, Lq, Dv]. */
  out: AttentionView;
  mask: CheckedMask | null;
  /** [B, Lk] booleans, 1 = padding (a layer's key-padding mask). */
  keyPadding: GpuMask | null;
  /** Flash kernel only: k and v are page pools read through this table (B = 1; their batch stride is the page stride). */
  pages?: PageTable | null;
}

/** The operands of a checked public call: q, k, v where they lie, the output in `out` (same layout). */
export function operandsOf(call: ValidatedSdpa, out: GPUBufferBinding): AttentionOperands {
  const { dims, options } = call;
  const s = (heads: number, length: number, dim: number) => layoutStrides(options.layout, heads, length, dim);
  return {
    dims,
    options,
    mask: call.mask,
    keyPadding: null,
    q: tensorView(call.q, options.layout),
    k: tensorView(call.k, options.layout),
    v: tensorView(call.v, options.layout),
    out: { resource: out, elementOffset: 0, strides: s(dims.Hq, dims.Lq, dims.Dv) },
  };
}

/** Inputs both attention kernels bind (q, k, v, mask, window, key padding) with their uniforms and overrides. */
export interface AttentionInputs {
  buffers: Record<string, GPUBufferBinding>;
  /** Sizes, views and optional inputs: every member the two kernels' params share. */
  uniforms: Record<string, number>;
  overrides: Record<string, boolean>;
  /** Uniforms only the flash kernel has (page table, tile bits). */
  flashUniforms: Record<string, number>;
}

/**
 * Bindings, shared uniforms and overrides of an attention call; `tileBits`: the flash plan's tile
 * bits of a block mask (null for the naive kernel, which has none).
 */
export function attentionInputs(
  runtime: GpuRuntime,
  ops: AttentionOperands,
  tileBits: TileBits | null = null,
): AttentionInputs {
  const { dims, options } = ops;
  const mask = maskArguments(runtime, ops.mask);
  const { blockMask, normalization, sigmoidBias, topK } = options.variants;
  const blocks = blockMask && { mask: blockMask, maskBits: blockMaskBits(blockMask), tileBits };
  const tables = tableArguments(runtime, options.window, options.modifiers, dims.Lk, ops.pages ?? null, blocks);
  const padding = keyPaddingArguments(runtime, ops.keyPadding, dims.Lk);
  const uniforms = {
    batch: dims.B,
    q_heads: dims.Hq,
    kv_group: dims.Hq / dims.Hkv,
    q_len: dims.Lq,
    kv_len: dims.Lk,
    head_dim: dims.D,
    value_dim: dims.Dv,
    causal_offset: options.offset,
    minus_infinity: -Infinity,
    ...viewUniforms('q', ops.q),
    ...viewUniforms('k', ops.k),
    ...viewUniforms('v', ops.v),
    ...viewUniforms('o', ops.out),
    ...mask.uniforms,
    ...tables.uniforms,
    ...padding.uniforms,
    sigmoid_bias: sigmoidBias,
    top_k: topK,
  };
  return {
    buffers: {
      q: ops.q.resource,
      k: ops.k.resource,
      v: ops.v.resource,
      mask: mask.resource,
      tables: tables.resource,
      key_padding: padding.resource,
    },
    uniforms,
    flashUniforms: tables.flashUniforms,
    overrides: {
      IS_CAUSAL: options.causal,
      HAS_MASK: ops.mask !== null,
      MASK_IS_BOOL: ops.mask?.mask.dtype === 'bool',
      MASK_F16: ops.mask?.mask.dtype === 'f16',
      Q_F16: ops.q.f16 === true,
      K_F16: ops.k.f16 === true,
      V_F16: ops.v.f16 === true,
      HAS_SOFTCAP: options.softcap > 0,
      WRITE_LSE: options.returnLse,
      IS_SIGMOID: normalization === 'sigmoid',
      HAS_BLOCK_MASK: blockMask !== null,
      ...tables.overrides,
      ...padding.overrides,
    },
  };
}
