/**
 * The device limits plans read, and the two checks every plan makes against them: that a buffer can
 * exist and be bound, and that a workgroup grid can be dispatched. Pure (a GPUSupportedLimits or a
 * plain object serves), so plans built on them are tested without a device.
 */
import { AttentionError } from '../errors';

/** The limits plans read (a GPUSupportedLimits satisfies it). */
export interface DeviceLimits {
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupsPerDimension: number;
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

const U32_LIMIT = 2 ** 32;

/** The largest buffer a kernel can bind: the smaller of the binding and the buffer limit. */
export function bindableBytes(limits: DeviceLimits): number {
  return Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
}

/**
 * Checks that a buffer of `bytes` (holding `elements`) can be made, bound and indexed with u32; a
 * failed allocation in WebGPU does not throw, it only logs, so this must be known before encoding.
 * @example
 * checkFits(device.limits, 'output', n, n * 4); // AttentionError on 'output' past the binding limit
 */
export function checkFits(limits: DeviceLimits, name: string, elements: number, bytes: number): void {
  const limit = bindableBytes(limits);
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

/** The element count and width of a tensor argument (a GpuTensor or GpuMask satisfies it). */
export interface Sized {
  readonly size: number;
  readonly bytesPerElement: number;
}

/**
 * Checks that a buffer of `bytes` can be made at all (maxBufferSize): a tensor may be larger than
 * one binding when the op that reads it splits its work (sdpa does; most ops bind whole tensors and
 * check {@link checkFits}).
 * @example
 * checkAllocatable(device.limits, 'data', n, n * 4);
 */
export function checkAllocatable(limits: DeviceLimits, name: string, elements: number, bytes: number): void {
  if (bytes > limits.maxBufferSize) {
    throw new AttentionError(
      name,
      `${bytes} bytes (${elements} elements)`,
      `at most ${limits.maxBufferSize} bytes, this device's buffer size limit`,
    );
  }
}

/**
 * {@link checkFits} for each named argument (absent ones skipped) and for an f32 output of
 * `outputElements`, named 'output'.
 * @example
 * checkAllFit(device.limits, { q, k, v }, B * Hq * Lq * Dv);
 */
export function checkAllFit(
  limits: DeviceLimits,
  args: Record<string, Sized | undefined>,
  outputElements: number,
): void {
  checkFits(limits, 'output', outputElements, outputElements * 4);
  for (const [name, t] of Object.entries(args)) if (t) checkFits(limits, name, t.size, t.size * t.bytesPerElement);
}

/**
 * Folds a flat count of workgroups into x and y when it passes the per-dimension limit (the WGSL
 * rebuilds the flat index from x, y and the uniform `groups_x`). Throws an AttentionError on
 * `argument` when even the folded grid cannot be dispatched; `what` says what the workgroups are.
 * @example
 * foldGrid(70000, limits, 'q', '70000 query blocks'); // [35000, 2, 1]
 */
export function foldGrid(
  count: number,
  limits: DeviceLimits,
  argument: string,
  what: string,
): [number, number, number] {
  const max = limits.maxComputeWorkgroupsPerDimension;
  if (count <= max) return [Math.max(1, count), 1, 1];
  const y = Math.ceil(count / max);
  if (y > max) throw new AttentionError(argument, what, `at most ${max ** 2} workgroups (${max} per dimension)`);
  return [Math.ceil(count / y), y, 1];
}
