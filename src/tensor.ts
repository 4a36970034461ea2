/**
 * Tensors that live on the device. A GpuTensor holds f32 data; a GpuMask holds booleans as bytes
 * (1 = may attend). Both know the context that made them, and refuse use after destroy().
 */
import { AttentionError, describe } from './errors';

/** @internal What a tensor needs from the context that owns it. */
export interface TensorOwner {
  readonly device: GPUDevice;
  readonly id: number;
  assertAlive(): void;
  release(buffer: GPUBuffer): void;
  /** `work`, with a failure once the device is lost (or the context destroyed) as a DeviceLostError. */
  guard<T>(work: Promise<T>): Promise<T>;
  /** Copies `byteLength` bytes at `byteOffset` of `buffer` to the host (guarded the same way). */
  readBack(buffer: GPUBuffer, byteOffset: number, byteLength: number): Promise<ArrayBuffer>;
}

export type TensorDtype = 'f32' | 'bool';

/** Where a tensor sits in its buffer, ready to bind: offset aligned for binding, plus an element offset. */
export interface TensorBinding {
  resource: GPUBufferBinding;
  /** Offset of element 0 from the bound range's start, in elements (f32) or bytes (bool). */
  elementOffset: number;
}

abstract class DeviceTensor {
  readonly shape: readonly number[];
  /** Element count. */
  readonly size: number;
  private destroyedFlag = false;
  /** Reads that have not copied the buffer yet: destroy() leaves the buffer to the last of them. */
  private pendingReads = 0;
  /**
   * Settles when the work that produced this tensor was validated; rejects with the first GpuError
   * of that work or of the work that produced its inputs (a DeviceLostError once the device is lost).
   */
  ready: Promise<void>;

  /** @internal Tensors are made by the context: attn.tensor(), attn.mask(), attn.wrap() and the operations. */
  constructor(
    /** @internal */
    readonly owner: TensorOwner,
    readonly buffer: GPUBuffer,
    shape: readonly number[],
    /** Byte offset of element 0 in `buffer`. */
    readonly byteOffset: number,
    /** Whether the context owns the buffer (returned to its pool on destroy) or the app does. */
    readonly owned: boolean,
    ready: Promise<void> = Promise.resolve(),
  ) {
    this.shape = Object.freeze([...shape]);
    this.size = shape.reduce((a, b) => a * b, 1);
    this.ready = ready;
  }

  abstract readonly dtype: TensorDtype;

  get bytesPerElement(): number {
    return this.dtype === 'f32' ? 4 : 1;
  }

  get destroyed(): boolean {
    return this.destroyedFlag;
  }

  /**
   * Frees the tensor's buffer (back to the context's pool; reads already started still get this
   * tensor's data, the buffer returns when they have copied it). Wrapped app buffers are left alone.
   */
  destroy(): void {
    if (this.destroyedFlag) return;
    this.destroyedFlag = true;
    if (this.owned && this.pendingReads === 0) this.owner.release(this.buffer);
  }

  /** @internal Checks the tensor can be used as argument `name` of the context `owner`. */
  assertUsable(name: string, owner: TensorOwner): void {
    if (this.destroyedFlag)
      throw new AttentionError(name, 'a destroyed tensor', 'a live tensor (do not use a tensor after destroy())');
    if (this.owner.id !== owner.id) {
      throw new AttentionError(
        name,
        `a tensor of context #${this.owner.id}`,
        `a tensor of this context (#${owner.id}); copy it with read() and tensor()`,
      );
    }
  }

  /** @internal The binding of this tensor for a shader, with the offset rounded down to the device's alignment. */
  binding(): TensorBinding {
    const alignment = this.owner.device.limits.minStorageBufferOffsetAlignment;
    const offset = Math.floor(this.byteOffset / alignment) * alignment;
    const end = this.byteOffset + this.size * this.bytesPerElement;
    const size = Math.max(4, Math.ceil((end - offset) / 4) * 4);
    return {
      resource: { buffer: this.buffer, offset, size },
      elementOffset: (this.byteOffset - offset) / this.bytesPerElement,
    };
  }

  protected async readBytes(): Promise<ArrayBuffer> {
    if (this.destroyedFlag) throw new AttentionError('tensor', 'a destroyed tensor', 'a live tensor');
    this.owner.assertAlive();
    this.pendingReads++;
    try {
      await this.owner.guard(this.ready);
      return await this.owner.readBack(this.buffer, this.byteOffset, this.size * this.bytesPerElement);
    } finally {
      this.pendingReads--;
      if (this.destroyedFlag && this.owned && this.pendingReads === 0) this.owner.release(this.buffer);
    }
  }
}

/**
 * An f32 tensor on the device.
 *
 * @example
 * const t = attn.tensor(new Float32Array([1, 2, 3, 4]), [1, 1, 2, 2]);
 * console.log(await t.read()); // Float32Array [1, 2, 3, 4]
 * t.destroy();
 */
export class GpuTensor extends DeviceTensor {
  readonly dtype = 'f32' as const;

  /** Copies the tensor back to the host. */
  async read(): Promise<Float32Array> {
    return new Float32Array(await this.readBytes());
  }
}

/**
 * A boolean mask on the device: one byte per element, 1 = may attend.
 *
 * @example
 * const m = attn.mask(new Uint8Array([1, 0, 1, 1]), [2, 2]);
 * attn.sdpa(q, k, v, { mask: m });
 */
export class GpuMask extends DeviceTensor {
  readonly dtype = 'bool' as const;

  /** Copies the mask back to the host. */
  async read(): Promise<Uint8Array> {
    return new Uint8Array(await this.readBytes());
  }
}

/**
 * Checks that `value` is a live f32 tensor of the context `owner`, as argument `name`.
 * @example
 * const q = checkTensor(runtime, 'q', maybeTensor); // AttentionError on 'q' otherwise
 */
export function checkTensor(owner: TensorOwner, name: string, value: unknown): GpuTensor {
  if (!(value instanceof GpuTensor)) {
    const given = value instanceof GpuMask ? 'a boolean GpuMask' : describe(value);
    throw new AttentionError(name, given, 'a GpuTensor (f32) made by attn.tensor() or attn.wrap()');
  }
  value.assertUsable(name, owner);
  return value;
}
