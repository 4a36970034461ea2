/**
 * Tensors that live on the device. A GpuTensor holds f32 data, or f16 halves packed two to a
 * 32-bit word (storage only: kernels widen them to f32, and read() returns them widened); a GpuMask
 * holds booleans as bytes (1 = may attend). All know the context that made them, and refuse use
 * after destroy().
 * A tensor is row-major over its shape, except a view (a KV cache's keys and values): element
 * strides over another tensor's buffer. Only the arguments that say so take a view.
 */
import { decodeF16 } from './contract/f16';
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

export type TensorDtype = 'f32' | 'f16' | 'bool';

/** The storage types of a GpuTensor: float32, or binary16 (IEEE half) elements packed two to a word. */
export type FloatDtype = 'f32' | 'f16';

const BYTES: Record<TensorDtype, number> = { f32: 4, f16: 2, bool: 1 };

/** Where a tensor sits in its buffer, ready to bind: offset aligned for binding, plus an element offset. */
export interface TensorBinding {
  resource: GPUBufferBinding;
  /** Offset of element 0 from the bound range's start, in elements (f32, f16: halves) or bytes (bool). */
  elementOffset: number;
}

/**
 * @internal Where a view's elements lie: element strides over the buffer of `base`, whose reads the
 * view's reads hold (so `base.destroy()` waits for them), and a check made at every use.
 */
export interface ViewLayout {
  /** Element strides, one per dim; the last is 1. */
  strides: readonly number[];
  /** The tensor that owns the buffer. */
  base: GpuTensor | GpuMask;
  /** Why the view may no longer be used (e.g. its cache grew), or null while it may. */
  stale(): string | null;
}

/** Row-major element strides of `shape`. */
function rowMajor(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  for (let d = shape.length - 1, step = 1; d >= 0; d--) {
    strides[d] = step;
    step *= shape[d];
  }
  return strides;
}

abstract class DeviceTensor {
  readonly shape: readonly number[];
  /** Element count. */
  readonly size: number;
  /** @internal Element strides per dim: row-major, except for a view. */
  readonly strides: readonly number[];
  /** @internal Set for a view: its base tensor and staleness check. */
  private readonly view: ViewLayout | null;
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
    /** @internal A view's layout (the KV cache makes views); absent: row-major and self-owned. */
    view: ViewLayout | null = null,
  ) {
    this.shape = Object.freeze([...shape]);
    this.size = shape.reduce((a, b) => a * b, 1);
    this.ready = ready;
    if (view && (view.strides.length !== shape.length || view.strides[shape.length - 1] !== 1)) {
      throw new Error(`a view needs one stride per dim and a contiguous last dim (strides ${describe(view.strides)})`);
    }
    this.view = view;
    this.strides = Object.freeze(view ? [...view.strides] : rowMajor(shape));
  }

  abstract readonly dtype: TensorDtype;

  get bytesPerElement(): number {
    return BYTES[this.dtype];
  }

  get destroyed(): boolean {
    return this.destroyedFlag;
  }

  /** @internal Whether the elements lie row-major from byteOffset (every tensor but a view with gaps). */
  get contiguous(): boolean {
    return rowMajor(this.shape).every((s, d) => this.shape[d] === 1 || s === this.strides[d]);
  }

  /** @internal Elements from element 0 to the last one the strides address, inclusive. */
  get extent(): number {
    return 1 + this.shape.reduce((sum, n, d) => sum + (n - 1) * this.strides[d], 0);
  }

  /** @internal Whether a read() has yet to copy the buffer (of this tensor or of a view on it). */
  get reading(): boolean {
    return this.pendingReads > 0;
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

  /**
   * @internal Checks the tensor can be used as argument `name` of the context `owner`; a strided
   * view only where `strided` says the argument takes one (attention's q, k and v).
   */
  assertUsable(name: string, owner: TensorOwner, strided = false): void {
    if (this.destroyedFlag)
      throw new AttentionError(name, 'a destroyed tensor', 'a live tensor (do not use a tensor after destroy())');
    this.assertFresh(name);
    if (this.owner.id !== owner.id) {
      throw new AttentionError(
        name,
        `a tensor of context #${this.owner.id}`,
        `a tensor of this context (#${owner.id}); copy it with read() and tensor()`,
      );
    }
    if (!strided && !this.contiguous) {
      throw new AttentionError(
        name,
        `a strided view ${describe(this.shape)} (element strides ${describe(this.strides)}: a KV cache's keys or values)`,
        "a contiguous tensor: only attention's q, k and v take views; copy it with read() and attn.tensor()",
      );
    }
  }

  private assertFresh(name: string): void {
    const stale = this.view?.stale();
    if (stale) {
      throw new AttentionError(
        name,
        `a stale view (${stale})`,
        'a view taken since: read cache.keys / cache.values again after the cache grows or is reset',
      );
    }
  }

  /** @internal The binding of this tensor for a shader, with the offset rounded down to the device's alignment. */
  binding(): TensorBinding {
    const alignment = this.owner.device.limits.minStorageBufferOffsetAlignment;
    const offset = Math.floor(this.byteOffset / alignment) * alignment;
    const end = this.byteOffset + this.extent * this.bytesPerElement;
    const size = Math.max(4, Math.ceil((end - offset) / 4) * 4);
    return {
      resource: { buffer: this.buffer, offset, size },
      elementOffset: (this.byteOffset - offset) / this.bytesPerElement,
    };
  }

  /** The tensor's elements in row-major order; a view's reads hold its base's buffer. */
  protected async readBytes(): Promise<ArrayBuffer> {
    if (this.destroyedFlag) throw new AttentionError('tensor', 'a destroyed tensor', 'a live tensor');
    this.assertFresh('tensor');
    this.owner.assertAlive();
    const holder: DeviceTensor = this.view?.base ?? this;
    holder.pendingReads++;
    try {
      await this.owner.guard(this.ready);
      const bpe = this.bytesPerElement;
      const bytes = await this.owner.readBack(this.buffer, this.byteOffset, this.extent * bpe);
      return this.contiguous ? bytes : gather(bytes, this.shape, this.strides, bpe);
    } finally {
      holder.pendingReads--;
      if (holder.destroyedFlag && holder.owned && holder.pendingReads === 0) holder.owner.release(holder.buffer);
    }
  }
}

/** The elements of a strided range (element 0 first) in row-major order; the last dim is contiguous. */
function gather(bytes: ArrayBuffer, shape: readonly number[], strides: readonly number[], bpe: number): ArrayBuffer {
  const source = new Uint8Array(bytes);
  const last = shape.length - 1;
  const rowBytes = shape[last] * bpe;
  const rows = shape.reduce((a, b) => a * b, 1) / shape[last];
  const out = new Uint8Array(rows * rowBytes);
  for (let r = 0; r < rows; r++) {
    let [rest, at] = [r, 0];
    for (let d = last - 1; d >= 0; d--) {
      at += (rest % shape[d]) * strides[d];
      rest = Math.floor(rest / shape[d]);
    }
    out.set(source.subarray(at * bpe, at * bpe + rowBytes), r * rowBytes);
  }
  return out.buffer;
}

/**
 * A float tensor on the device: `dtype` 'f32', or 'f16' (halves, two to a 32-bit word; element e
 * is half e % 2 of word e / 2 from the tensor's start, so a view may start inside a word).
 *
 * @example
 * const t = attn.tensor(new Float32Array([1, 2, 3, 4]), [1, 1, 2, 2]);
 * console.log(await t.read()); // Float32Array [1, 2, 3, 4]
 * const h = attn.tensor([0.1, 70000], [2], { dtype: 'f16' });
 * console.log(await h.read()); // Float32Array [0.0999755859375, Infinity]: rounded to f16, widened back
 */
export class GpuTensor extends DeviceTensor {
  /** @internal Tensors are made by the context; `dtype` is the storage type (default f32). */
  constructor(
    owner: TensorOwner,
    buffer: GPUBuffer,
    shape: readonly number[],
    byteOffset: number,
    owned: boolean,
    ready?: Promise<void>,
    view: ViewLayout | null = null,
    readonly dtype: FloatDtype = 'f32',
  ) {
    super(owner, buffer, shape, byteOffset, owned, ready, view);
  }

  /** Copies the tensor back to the host; f16 elements are widened to f32 exactly. */
  async read(): Promise<Float32Array> {
    const bytes = await this.readBytes();
    return this.dtype === 'f16' ? decodeF16(new Uint16Array(bytes)) : new Float32Array(bytes);
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

/** What an argument takes: f32 only (the default), or f16 too where its kernel reads f16 storage. */
export const [F32_ONLY, F32_OR_F16]: readonly (readonly FloatDtype[])[] = [['f32'], ['f32', 'f16']];

/**
 * Checks that `value` is a live float tensor of the context `owner`, as argument `name`, of one of
 * the storage types `dtypes` (f32 only unless the argument says so): contiguous, unless `strided`
 * (the argument takes views, as attention's q, k and v do).
 * @example
 * const q = checkTensor(runtime, 'q', maybeTensor, true, F32_OR_F16); // AttentionError on 'q' otherwise
 */
export function checkTensor(
  owner: TensorOwner,
  name: string,
  value: unknown,
  strided = false,
  dtypes: readonly FloatDtype[] = F32_ONLY,
): GpuTensor {
  const wanted = `a GpuTensor (${dtypes.join(' or ')}) made by attn.tensor() or attn.wrap()`;
  if (!(value instanceof GpuTensor)) {
    const given = value instanceof GpuMask ? 'a boolean GpuMask' : describe(value);
    throw new AttentionError(name, given, wanted);
  }
  if (!dtypes.includes(value.dtype)) {
    const why = value.dtype === 'f16' ? `${name} does not take f16 storage yet` : `${name} takes only ${dtypes[0]}`;
    throw new AttentionError(name, `an ${value.dtype} GpuTensor ${describe(value.shape)}`, `${wanted}: ${why}`);
  }
  value.assertUsable(name, owner, strided);
  return value;
}
