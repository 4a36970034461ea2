/**
 * The buffers one submission takes while an operation encodes it. Whatever is taken here is given
 * back if anything throws before the submit, so a failed call leaves the pool as it found it; after
 * the submit, scratch goes back to the pool (queue order makes that safe) and outputs stay with the
 * tensors the operation returns.
 */
import type { BufferPool } from './buffer-pool';

export class AllocationScope {
  private readonly kept: GPUBuffer[] = [];
  private readonly scratchBuffers: GPUBuffer[] = [];
  private readonly uniforms: GPUBuffer[] = [];

  /** @internal Made by GpuRuntime.submit. */
  constructor(
    private readonly device: GPUDevice,
    private readonly pool: BufferPool,
  ) {}

  /** A pooled buffer that a returned tensor keeps. */
  output(bytes: number, label: string): GPUBufferBinding {
    const buffer = this.pool.acquire(bytes, label);
    this.kept.push(buffer);
    return { buffer, size: bytes };
  }

  /** A pooled buffer for this submission only, optionally filled with `contents` (queued before the work). */
  scratch(bytes: number, label: string, contents?: GPUAllowSharedBufferSource): GPUBufferBinding {
    const buffer = this.pool.acquire(bytes, label);
    this.scratchBuffers.push(buffer);
    if (contents) this.device.queue.writeBuffer(buffer, 0, contents);
    return { buffer, size: bytes };
  }

  /** A pooled buffer taken elsewhere during this submission that the caller keeps (given back if it throws). */
  adopt(buffer: GPUBuffer): void {
    this.kept.push(buffer);
  }

  /** A uniform buffer holding `bytes`, destroyed once the work is submitted. */
  uniform(bytes: ArrayBuffer, label: string): GPUBuffer {
    const buffer = this.device.createBuffer({
      label,
      size: bytes.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.uniforms.push(buffer);
    this.device.queue.writeBuffer(buffer, 0, bytes);
    return buffer;
  }

  /** @internal After the submit: scratch back to the pool, uniforms destroyed (WebGPU frees them once the work is done). */
  commit(): void {
    this.scratchBuffers.forEach((b) => this.pool.release(b));
    this.uniforms.forEach((b) => b.destroy());
    this.clear();
  }

  /** @internal Nothing was submitted: every buffer back, outputs included. */
  abandon(): void {
    [...this.kept, ...this.scratchBuffers].forEach((b) => this.pool.release(b));
    this.uniforms.forEach((b) => b.destroy());
    this.clear();
  }

  private clear(): void {
    this.kept.length = 0;
    this.scratchBuffers.length = 0;
    this.uniforms.length = 0;
  }
}
