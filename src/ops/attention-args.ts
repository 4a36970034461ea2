/**
 * GPU-side argument handling shared by the attention operations: checking that tensors belong to
 * this context and fit the device, and turning q/k/v/mask/out into bindings plus the offset and
 * stride uniforms the kernels index with.
 */
import { AttentionError, describe } from '../errors';
import type { GpuRuntime } from '../gpu/runtime';
import { GpuMask, GpuTensor, type TensorBinding } from '../tensor';
import type { Layout } from '../types';
import { validateMaskShape, type MaskStrides, type SdpaDims } from './sdpa-validate';
import { hasWindow, type ResolvedWindow } from './sdpa-window';

const U32_LIMIT = 2 ** 32;

/** Checks that `value` is a live f32 tensor of this context. */
export function checkTensor(runtime: GpuRuntime, name: string, value: unknown): GpuTensor {
  if (!(value instanceof GpuTensor)) {
    const given = value instanceof GpuMask ? 'a boolean GpuMask' : describe(value);
    throw new AttentionError(name, given, 'a GpuTensor (f32) made by attn.tensor() or attn.wrap()');
  }
  value.assertUsable(name, runtime);
  return value;
}

/** Checks the mask option: a float GpuTensor (additive) or a GpuMask (boolean), that broadcasts. */
export function checkMask(
  runtime: GpuRuntime,
  value: unknown,
  dims: SdpaDims,
): { mask: GpuTensor | GpuMask; strides: MaskStrides } | null {
  if (value === undefined || value === null) return null;
  if (!(value instanceof GpuTensor) && !(value instanceof GpuMask)) {
    throw new AttentionError(
      'options.mask',
      describe(value),
      'a GpuTensor (additive float mask) or a GpuMask (boolean, from attn.mask())',
    );
  }
  value.assertUsable('options.mask', runtime);
  return { mask: value, strides: validateMaskShape(value.shape, dims) };
}

/** Checks that a buffer of `bytes` (holding `elements`) can be made, bound and indexed with u32. */
export function checkFits(device: GPUDevice, name: string, elements: number, bytes: number): void {
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  if (bytes > limit) {
    throw new AttentionError(
      name,
      `${bytes} bytes (${elements} elements)`,
      `at most ${limit} bytes, this device's buffer binding limit`,
    );
  }
  if (elements >= U32_LIMIT) {
    throw new AttentionError(name, `${elements} elements`, `fewer than 2^32 elements (kernels index with u32)`);
  }
}

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
}

/** A tensor as an attention view, with its layout's strides. */
export function tensorView(tensor: GpuTensor, strides: [number, number, number]): AttentionView {
  const { resource, elementOffset } = tensor.binding();
  return { resource, elementOffset, strides };
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
  checked: ReturnType<typeof checkMask>,
): { resource: GPUBufferBinding; uniforms: Record<string, number> } {
  if (!checked) {
    return {
      resource: { buffer: runtime.dummy },
      uniforms: { m_offset: 0, m_stride_b: 0, m_stride_h: 0, m_stride_q: 0, m_stride_k: 0 },
    };
  }
  const binding = checked.mask.binding();
  const { b, h, i, j } = checked.strides;
  return {
    resource: binding.resource,
    uniforms: { m_offset: binding.elementOffset, m_stride_b: b, m_stride_h: h, m_stride_q: i, m_stride_k: j },
  };
}

/** Bindings, uniforms and overrides of the window (`window`, `dilation`, `globalTokens`) for a kernel. */
export interface WindowArguments {
  resource: GPUBufferBinding;
  uniforms: Record<string, number>;
  overrides: { HAS_WINDOW: boolean; HAS_GLOBAL: boolean };
  /** Returns the global-token buffer to the pool; call once the work is submitted. */
  release(): void;
}

/** The window's uniforms and, with global tokens, a bitset of them over the key positions. */
export function windowArguments(runtime: GpuRuntime, window: ResolvedWindow, kvLen: number): WindowArguments {
  const on = hasWindow(window);
  const uniforms = { window_left: window.left, window_right: window.right, dilation: window.dilation };
  if (!on || window.globalTokens.length === 0) {
    return {
      resource: { buffer: runtime.dummy },
      uniforms,
      overrides: { HAS_WINDOW: on, HAS_GLOBAL: false },
      release: () => {},
    };
  }
  const bits = new Uint32Array(Math.ceil(kvLen / 32));
  for (const g of window.globalTokens) bits[g >>> 5] |= 1 << (g & 31);
  const buffer = runtime.pool.acquire(bits.byteLength, 'global tokens');
  runtime.device.queue.writeBuffer(buffer, 0, bits);
  return {
    resource: { buffer, size: bits.byteLength },
    uniforms,
    overrides: { HAS_WINDOW: true, HAS_GLOBAL: true },
    release: () => runtime.release(buffer),
  };
}
