/**
 * `attn.tensor`, `attn.mask`, `attn.wrap`: getting data onto the device, validated first.
 */
import { AttentionError, describe } from '../../errors';
import { checkAllocatable } from '../../gpu/limits';
import type { GpuRuntime } from '../../gpu/runtime';
import { GpuMask, GpuTensor } from '../../tensor';

export interface WrapOptions {
  /** Byte offset of element 0 in the buffer (a multiple of 4 for f32). Default 0. */
  offset?: number;
  /** `'f32'` (default) or `'bool'` (one byte per element, 1 = may attend). */
  dtype?: 'f32' | 'bool';
}

function checkShape(shape: unknown): number[] {
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new AttentionError('shape', describe(shape), 'a non-empty list of positive integers');
  }
  return shape as number[];
}

function checkData(data: unknown, shape: number[], kind: 'f32' | 'bool'): ArrayLike<number> {
  const ok =
    kind === 'f32'
      ? data instanceof Float32Array || Array.isArray(data)
      : data instanceof Uint8Array || Array.isArray(data);
  const wanted = kind === 'f32' ? 'a Float32Array or number[]' : 'a Uint8Array or number[] of 0/1';
  if (!ok) throw new AttentionError('data', describe(data), wanted);
  const size = shape.reduce((a, b) => a * b, 1);
  const length = (data as ArrayLike<number>).length;
  if (length !== size)
    throw new AttentionError('data', `${length} elements`, `${size} elements for shape ${describe(shape)}`);
  return data as ArrayLike<number>;
}

/** Uploads f32 data into a pooled buffer. */
export function makeTensor(runtime: GpuRuntime, data: unknown, shape: unknown): GpuTensor {
  runtime.assertAlive();
  const dims = checkShape(shape);
  const values = checkData(data, dims, 'f32');
  checkAllocatable(runtime.device.limits, 'data', values.length, values.length * 4);
  const bytes = values instanceof Float32Array ? values : Float32Array.from(values);
  const buffer = runtime.pool.acquire(bytes.byteLength, `tensor [${dims.join(', ')}]`);
  runtime.device.queue.writeBuffer(buffer, 0, bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return new GpuTensor(runtime, buffer, dims, 0, true);
}

/** Uploads a boolean mask, one byte per element (padded to whole words for the upload). */
export function makeMask(runtime: GpuRuntime, data: unknown, shape: unknown): GpuMask {
  runtime.assertAlive();
  const dims = checkShape(shape);
  const values = checkData(data, dims, 'bool');
  checkAllocatable(runtime.device.limits, 'data', values.length, values.length);
  const padded = new Uint8Array(Math.ceil(values.length / 4) * 4);
  for (let i = 0; i < values.length; i++) padded[i] = values[i] ? 1 : 0;
  const buffer = runtime.pool.acquire(padded.byteLength, `mask [${dims.join(', ')}]`);
  runtime.device.queue.writeBuffer(buffer, 0, padded);
  return new GpuMask(runtime, buffer, dims, 0, true);
}

/** Wraps an app's buffer without a copy; the app keeps ownership (destroy() leaves it alone). */
export function wrapBuffer(
  runtime: GpuRuntime,
  buffer: unknown,
  shape: unknown,
  options: WrapOptions | undefined,
): GpuTensor | GpuMask {
  runtime.assertAlive();
  const isBuffer =
    typeof buffer === 'object' && buffer !== null && 'size' in buffer && 'usage' in buffer && 'mapAsync' in buffer;
  if (!isBuffer) throw new AttentionError('buffer', describe(buffer), "a GPUBuffer of this context's device");
  const gpuBuffer = buffer as GPUBuffer;
  if (!(gpuBuffer.usage & GPUBufferUsage.STORAGE)) {
    throw new AttentionError(
      'buffer',
      `usage 0x${gpuBuffer.usage.toString(16)}`,
      'a buffer with GPUBufferUsage.STORAGE',
    );
  }
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new AttentionError('options', describe(options), 'an object { offset?, dtype? } or undefined');
  }
  const dims = checkShape(shape);
  const dtype = options?.dtype === undefined ? 'f32' : options.dtype;
  if (dtype !== 'f32' && dtype !== 'bool')
    throw new AttentionError('options.dtype', describe(dtype), "'f32' or 'bool'");
  const offset = options?.offset === undefined ? 0 : options.offset;
  const unit = dtype === 'f32' ? 4 : 1;
  if (!Number.isInteger(offset) || offset < 0 || offset % unit !== 0) {
    throw new AttentionError('options.offset', describe(offset), `a non-negative byte offset, a multiple of ${unit}`);
  }
  const bytes = dims.reduce((a, b) => a * b, 1) * unit;
  // Bindings and copies cover whole 4-byte words: a boolean tensor's last word must lie in the buffer.
  const end = Math.ceil((offset + bytes) / 4) * 4;
  if (end > gpuBuffer.size) {
    const words = end === offset + bytes ? '' : `, ${end} rounded up to whole 4-byte words`;
    throw new AttentionError(
      'shape',
      `${describe(dims)} at offset ${offset} (${bytes} bytes${words})`,
      `a tensor within the buffer's ${gpuBuffer.size} bytes`,
    );
  }
  const Tensor = dtype === 'f32' ? GpuTensor : GpuMask;
  return new Tensor(runtime, gpuBuffer, dims, offset, false);
}
