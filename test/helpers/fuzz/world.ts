/**
 * The contexts the fuzz ring runs on: one shared context (so every property reuses the pipelines
 * the others compiled), a second context whose tensors must be refused by the first, and counters
 * on the first context's queue so that a rejected call can be shown to have enqueued nothing.
 */
import { createAttention, type AttentionContext, type GpuMask, type GpuTensor } from '../../../src/index';
import { nodeGpu } from '../node-gpu';
import { useDeviceLimits } from './budget';

export interface QueueCounters {
  submits: number;
  writes: number;
}

export interface World {
  attn: AttentionContext;
  /** Another context: its tensors are "tensors of another context" to `attn`. */
  other: AttentionContext;
  /** Work `attn`'s queue received: command buffers submitted, buffer writes. */
  queue: QueueCounters;
}

/** Makes the contexts and instruments the queue of the first. */
export async function makeWorld(): Promise<World> {
  const gpu = await nodeGpu();
  const attn = await createAttention({ gpu });
  const other = await createAttention({ gpu });
  useDeviceLimits(attn.device.limits);
  const counters: QueueCounters = { submits: 0, writes: 0 };
  const queue = attn.device.queue as GPUQueue & Record<string, unknown>;
  const submit = queue.submit.bind(queue);
  const writeBuffer = queue.writeBuffer.bind(queue) as (...args: unknown[]) => void;
  queue.submit = (buffers: Iterable<GPUCommandBuffer>) => {
    counters.submits++;
    return submit(buffers);
  };
  queue.writeBuffer = ((...args: unknown[]) => {
    counters.writes++;
    return writeBuffer(...args);
  }) as GPUQueue['writeBuffer'];
  return { attn, other, queue: counters };
}

export function destroyWorld(w: World | undefined): void {
  w?.attn.destroy();
  w?.other.destroy();
}

/** Everything that says a call left the context as it found it. */
export interface Snapshot {
  liveBuffers: number;
  pooledBytes: number;
  pipelines: number;
  submits: number;
  writes: number;
}

export function snapshot(w: World): Snapshot {
  const s = w.attn.stats;
  return { ...s, submits: w.queue.submits, writes: w.queue.writes };
}

/** The fields of two snapshots that differ, as `name a → b`. */
export function changes(before: Snapshot, after: Snapshot): string[] {
  return (Object.keys(before) as (keyof Snapshot)[])
    .filter((k) => before[k] !== after[k])
    .map((k) => `${k} ${before[k]} → ${after[k]}`);
}

/** A host tensor to upload: float data becomes a GpuTensor, Uint8Array data a GpuMask. */
export interface HostInput {
  data: Float32Array | Uint8Array;
  shape: readonly number[];
}

/** Tensors made for one case, destroyed together (also after a failure). */
export class Scratch {
  private readonly made: (GpuTensor | GpuMask)[] = [];
  private readonly buffers: GPUBuffer[] = [];

  constructor(readonly attn: AttentionContext) {}

  tensor(data: Float32Array, shape: readonly number[]): GpuTensor {
    return this.keep(this.attn.tensor(data, shape));
  }

  mask(data: Uint8Array, shape: readonly number[]): GpuMask {
    return this.keep(this.attn.mask(data, shape));
  }

  /** A float tensor or a boolean mask, by the data's type. */
  upload(data: Float32Array | Uint8Array, shape: readonly number[]): GpuTensor | GpuMask {
    return data instanceof Uint8Array ? this.mask(data, shape) : this.tensor(data, shape);
  }

  /**
   * Uploads each input with attn.tensor / attn.mask or, with `wrapAt`, all of them into one app
   * buffer wrapped with attn.wrap at offsets no binding alignment divides: `wrapAt` elements before
   * each float tensor, an odd byte offset for each boolean mask.
   */
  uploadAll(inputs: readonly HostInput[], wrapAt?: number): (GpuTensor | GpuMask)[] {
    if (wrapAt === undefined) return inputs.map((t) => this.upload(t.data, t.shape));
    let cursor = 0;
    const places = inputs.map((t) => {
      cursor = t.data instanceof Uint8Array ? cursor + 1 + (wrapAt % 3) : Math.ceil(cursor / 4) * 4 + 4 * wrapAt;
      const at = cursor;
      cursor += t.data.byteLength;
      return at;
    });
    const bytes = new Uint8Array(Math.ceil(cursor / 4) * 4 + 4);
    inputs.forEach((t, i) => bytes.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), places[i]));
    const device = this.attn.device;
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const buffer = device.createBuffer({ label: 'fuzz app buffer', size: bytes.byteLength, usage });
    this.buffers.push(buffer);
    device.queue.writeBuffer(buffer, 0, bytes);
    return inputs.map((t, i) =>
      this.keep(
        t.data instanceof Uint8Array
          ? this.attn.wrap(buffer, t.shape, { offset: places[i], dtype: 'bool' })
          : this.attn.wrap(buffer, t.shape, { offset: places[i] }),
      ),
    );
  }

  keep<T extends GpuTensor | GpuMask>(t: T): T {
    this.made.push(t);
    return t;
  }

  destroy(): void {
    this.made.forEach((t) => t.destroy());
    this.made.length = 0;
    this.buffers.forEach((b) => b.destroy());
    this.buffers.length = 0;
  }
}

/** Reads a tensor and destroys it. */
export async function take(t: GpuTensor): Promise<Float32Array> {
  try {
    return await t.read();
  } finally {
    t.destroy();
  }
}
