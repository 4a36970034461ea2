/**
 * Reuses freed storage buffers. Queue order makes reuse safe: work that read a buffer before it was
 * released runs before any later work that writes it. Sizes are rounded to classes so that buffers
 * of similar size can be shared; the pool keeps at most `maxPooledBytes` idle.
 */
export const STORAGE_USAGE = GPUBufferUsageFlags();

function GPUBufferUsageFlags(): number {
  // Read lazily from the global: `GPUBufferUsage` exists only where WebGPU does.
  const usage = (globalThis as { GPUBufferUsage?: typeof GPUBufferUsage }).GPUBufferUsage;
  return usage ? usage.STORAGE | usage.COPY_SRC | usage.COPY_DST : 0x80 | 0x04 | 0x08;
}

/** Rounds a byte size up to its size class: multiples of 256 up to 4 KiB, then steps of 1/8 of a power of two. */
export function sizeClass(bytes: number): number {
  const size = Math.max(256, bytes);
  if (size <= 4096) return Math.ceil(size / 256) * 256;
  const step = 2 ** (Math.floor(Math.log2(size)) - 3);
  return Math.ceil(size / step) * step;
}

export class BufferPool {
  private readonly idle = new Map<number, GPUBuffer[]>();
  private idleBytes = 0;
  private readonly live = new Set<GPUBuffer>();

  constructor(
    private readonly device: GPUDevice,
    private readonly maxPooledBytes = 256 * 1024 * 1024,
  ) {}

  acquire(bytes: number, label: string): GPUBuffer {
    // Never past what the device can allocate: near the limit the size class would round beyond it.
    const size = Math.min(sizeClass(bytes), Math.max(bytes, Math.floor(this.device.limits.maxBufferSize / 4) * 4));
    const reused = this.idle.get(size)?.pop();
    let buffer: GPUBuffer;
    if (reused) {
      this.idleBytes -= size;
      buffer = reused;
      buffer.label = label;
    } else {
      buffer = this.device.createBuffer({ label, size, usage: STORAGE_USAGE });
    }
    this.live.add(buffer);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    if (!this.live.delete(buffer)) return;
    if (this.idleBytes + buffer.size > this.maxPooledBytes) {
      buffer.destroy();
      return;
    }
    const list = this.idle.get(buffer.size) ?? [];
    list.push(buffer);
    this.idle.set(buffer.size, list);
    this.idleBytes += buffer.size;
  }

  /** Buffers handed out and not yet released. */
  get liveCount(): number {
    return this.live.size;
  }

  get pooledBytes(): number {
    return this.idleBytes;
  }

  destroy(): void {
    for (const buffer of this.live) buffer.destroy();
    for (const list of this.idle.values()) list.forEach((b) => b.destroy());
    this.live.clear();
    this.idle.clear();
    this.idleBytes = 0;
  }
}
