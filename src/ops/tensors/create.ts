/**
 * `attn.tensor`, `attn.mask`, `attn.wrap`: getting data onto the device, validated first.
 */
import { encodeF16 } from '../../contract/f16';
import { AttentionError, describe } from '../../errors';
import { checkAllocatable } from '../../gpu/limits';
import type { GpuRuntime } from '../../gpu/runtime';
import { GpuMask, GpuTensor, type FloatDtype } from '../../tensor';

export interface TensorOptions {
  /**
   * Storage type: `'f32'` (default) or `'f16'`: halves, rounded to the nearest f16 (ties to even)
   * from a Float32Array or number[], or taken as they are from a Uint16Array of raw f16 bits.
   */
  dtype?: FloatDtype;
}

export interface WrapOptions {
  /** Byte offset of element 0 in the buffer (a multiple of 4 for f32, of 2 for f16). Default 0. */
  offset?: number;
  /** `'f32'` (default), `'f16'` (halves, two to a word) or `'bool'` (one byte per element, 1 = may attend). */
  dtype?: 'f32' | 'f16' | 'bool';
}

function checkShape(shape: unknown): number[] {
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new AttentionError('shape', describe(shape), 'a non-empty list of positive integers');
  }
  return shape as number[];
}

const WANTED = {
  f32: 'a Float32Array or number[]',
  f16: 'a Float32Array or number[] (rounded to f16), or a Uint16Array of raw f16 bits',
  bool: 'a Uint8Array or number[] of 0/1',
};

function checkData(data: unknown, shape: number[], kind: 'f32' | 'f16' | 'bool'): ArrayLike<number> {
  const float = data instanceof Float32Array || Array.isArray(data);
  const ok =
    kind === 'bool' ? data instanceof Uint8Array || Array.isArray(data) : float || (kind === 'f16' && isHalves(data));
  if (!ok) {
    const hint = kind === 'f32' && isHalves(data) ? " (raw f16 bits: pass { dtype: 'f16' })" : '';
    throw new AttentionError('data', describe(data), WANTED[kind] + hint);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  const length = (data as ArrayLike<number>).length;
  if (length !== size)
    throw new AttentionError('data', `${length} elements`, `${size} elements for shape ${describe(shape)}`);
  return data as ArrayLike<number>;
}

const isHalves = (data: unknown): data is Uint16Array => data instanceof Uint16Array;

/** The `dtype` of attn.tensor's options: 'f32' (default) or 'f16'. */
function checkTensorOptions(options: unknown): FloatDtype {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new AttentionError('options', describe(options), 'an object { dtype? } or undefined');
  }
  const dtype = (options as TensorOptions | undefined)?.dtype;
  if (dtype === undefined) return 'f32';
  if (dtype !== 'f32' && dtype !== 'f16') throw new AttentionError('options.dtype', describe(dtype), "'f32' or 'f16'");
  return dtype;
}

/** f16 bits of the values (rounded, or raw from a Uint16Array), padded to whole 4-byte words. */
function halvesOf(values: ArrayLike<number>): Uint16Array {
  const bits = isHalves(values) ? values : encodeF16(values);
  if (bits.length % 2 === 0) return bits;
  const padded = new Uint16Array(bits.length + 1);
  padded.set(bits);
  return padded;
}

/** Uploads f32 data, or f16 halves (options.dtype 'f16'), into a pooled buffer. */
export function makeTensor(runtime: GpuRuntime, data: unknown, shape: unknown, options?: unknown): GpuTensor {
  runtime.assertAlive();
  const dims = checkShape(shape);
  const dtype = checkTensorOptions(options);
  const values = checkData(data, dims, dtype);
  const unit = dtype === 'f16' ? 2 : 4;
  checkAllocatable(runtime.device.limits, 'data', values.length, values.length * unit);
  const bytes =
    dtype === 'f16' ? halvesOf(values) : values instanceof Float32Array ? values : Float32Array.from(values);
  const buffer = runtime.pool.acquire(bytes.byteLength, `tensor ${dtype} [${dims.join(', ')}]`);
  runtime.device.queue.writeBuffer(buffer, 0, bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return new GpuTensor(runtime, buffer, dims, 0, true, undefined, null, dtype);
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
  if (dtype !== 'f32' && dtype !== 'f16' && dtype !== 'bool')
    throw new AttentionError('options.dtype', describe(dtype), "'f32', 'f16' or 'bool'");
  const offset = options?.offset === undefined ? 0 : options.offset;
  const unit = dtype === 'f32' ? 4 : dtype === 'f16' ? 2 : 1;
  if (!Number.isInteger(offset) || offset < 0 || offset % unit !== 0) {
    throw new AttentionError('options.offset', describe(offset), `a non-negative byte offset, a multiple of ${unit}`);
  }
  const bytes = dims.reduce((a, b) => a * b, 1) * unit;
  // Bindings and copies cover whole 4-byte words: a boolean or f16 tensor's last word must lie in the buffer.
  const end = Math.ceil((offset + bytes) / 4) * 4;
  if (end > gpuBuffer.size) {
    const words = end === offset + bytes ? '' : `, ${end} rounded up to whole 4-byte words`;
    throw new AttentionError(
      'shape',
      `${describe(dims)} at offset ${offset} (${bytes} bytes${words})`,
      `a tensor within the buffer's ${gpuBuffer.size} bytes`,
    );
  }
  if (dtype === 'bool') return new GpuMask(runtime, gpuBuffer, dims, offset, false);
  return new GpuTensor(runtime, gpuBuffer, dims, offset, false, undefined, null, dtype);
}
