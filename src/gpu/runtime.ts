/**
 * Everything an operation needs to encode work on one device: pipelines, the buffer pool, the
 * shared dummy buffer for absent optional inputs, and a dispatcher that packs uniforms by
 * reflection, binds buffers by name and submits inside error scopes.
 */
import { DeviceLostError } from '../errors';
import type { TensorOwner } from '../tensor';
import { BufferPool } from './buffer-pool';
import { withErrorScopes } from './error-scopes';
import { PipelineCache, type CachedPipeline } from './pipeline-cache';
import { packUniforms, type UniformValues } from './uniforms';

/** One dispatch: a pipeline, its uniform values, buffers by binding name, and the workgroup grid. */
export interface KernelDispatch {
  pipeline: CachedPipeline;
  uniforms: UniformValues;
  buffers: Record<string, GPUBufferBinding>;
  workgroups: [number, number, number];
}

let nextContextId = 1;

export class GpuRuntime implements TensorOwner {
  readonly id = nextContextId++;
  readonly pipelines: PipelineCache;
  readonly pool: BufferPool;
  /** Bound where an optional input is absent, so bind group layouts never vary. */
  readonly dummy: GPUBuffer;
  /** The same for an absent optional output (a writable binding may not share the read dummy). */
  readonly dummyOutput: GPUBuffer;
  private deadReason: string | null = null;
  /** Called with each submitted command buffer's label (the benchmark's hook for timing). */
  onSubmit: ((label: string) => void) | null = null;

  constructor(readonly device: GPUDevice) {
    this.pipelines = new PipelineCache(device);
    this.pool = new BufferPool(device);
    this.dummy = device.createBuffer({
      label: 'dummy (absent optional input)',
      size: 16,
      usage: GPUBufferUsage.STORAGE,
    });
    this.dummyOutput = device.createBuffer({
      label: 'dummy (absent optional output)',
      size: 16,
      usage: GPUBufferUsage.STORAGE,
    });
    device.lost.then((info) => {
      if (this.deadReason === null) this.deadReason = `the GPU device was lost (${info.reason}: ${info.message})`;
    });
  }

  get alive(): boolean {
    return this.deadReason === null;
  }

  assertAlive(): void {
    if (this.deadReason !== null) throw new DeviceLostError(this.deadReason);
  }

  markDead(reason: string): void {
    this.deadReason ??= reason;
  }

  release(buffer: GPUBuffer): void {
    if (this.alive) this.pool.release(buffer);
  }

  /** Encodes the dispatches in one compute pass and submits them; resolves when they validated. */
  run(label: string, dispatches: KernelDispatch[]): Promise<void> {
    const uniformBuffers: GPUBuffer[] = [];
    const { errors } = withErrorScopes(this.device, label, () => {
      const encoder = this.device.createCommandEncoder({ label });
      const pass = encoder.beginComputePass({ label });
      for (const dispatch of dispatches) {
        const bindGroup = this.bindGroup(dispatch, uniformBuffers);
        pass.setPipeline(dispatch.pipeline.pipeline);
        pass.setBindGroup(0, bindGroup);
        pass.dispatchWorkgroups(...dispatch.workgroups);
      }
      pass.end();
      this.device.queue.submit([encoder.finish()]);
    });
    // Destroying after submit is safe: WebGPU frees the memory once the queued work is done.
    uniformBuffers.forEach((b) => b.destroy());
    this.onSubmit?.(label);
    return errors;
  }

  private bindGroup(dispatch: KernelDispatch, uniformBuffers: GPUBuffer[]): GPUBindGroup {
    const { layout, bindGroupLayout, label } = dispatch.pipeline;
    const entries: GPUBindGroupEntry[] = layout.bindings.map((binding) => {
      if (binding.kind === 'uniform') {
        const bytes = packUniforms(layout.uniform!, dispatch.uniforms);
        const buffer = this.device.createBuffer({
          label: `${label} params`,
          size: bytes.byteLength,
          usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        });
        this.device.queue.writeBuffer(buffer, 0, bytes);
        uniformBuffers.push(buffer);
        return { binding: binding.binding, resource: { buffer } };
      }
      const resource = dispatch.buffers[binding.name];
      if (!resource) throw new Error(`${label}: no buffer for binding '${binding.name}'`);
      return { binding: binding.binding, resource };
    });
    return this.device.createBindGroup({ label, layout: bindGroupLayout, entries });
  }

  destroy(reason: string): void {
    this.markDead(reason);
    this.pool.destroy();
    this.dummy.destroy();
    this.dummyOutput.destroy();
  }
}
