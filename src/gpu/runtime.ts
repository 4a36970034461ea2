/**
 * Everything an operation needs to encode work on one device: pipelines, the buffer pool, the
 * shared dummy buffer for absent optional inputs, and `submit`, which runs an operation's encode
 * step inside an allocation scope, packs uniforms by reflection, binds buffers by name and submits
 * inside error scopes. Failures travel: an output's `ready` carries its inputs' errors, its
 * pipelines' compile errors and its submission's, and any of them becomes a DeviceLostError once
 * the device is lost.
 */
import { DeviceLostError } from '../errors';
import type { TensorOwner } from '../tensor';
import { AllocationScope } from './allocation';
import { BufferPool } from './buffer-pool';
import { withErrorScopes } from './error-scopes';
import { PipelineCache, type CachedPipeline } from './pipeline-cache';
import { kernelFeatures, type KernelFeatures } from './kernel-features';
import { readBack } from './readback';
import { packUniforms, type UniformValues } from './uniforms';

/** One dispatch: a pipeline, its uniform values, buffers by binding name, and the workgroup grid. */
export interface KernelDispatch {
  pipeline: CachedPipeline;
  uniforms: UniformValues;
  buffers: Record<string, GPUBufferBinding>;
  workgroups: [number, number, number];
}

/** What an operation's encode step gives {@link GpuRuntime.submit}. */
export interface Encoded<T> {
  /** The command buffer's label, which a GpuError of the submission carries. */
  label: string;
  dispatches: KernelDispatch[];
  /** What the operation hands back (the output bindings it wraps as tensors). */
  result: T;
}

/** An input whose failure the outputs inherit (a GpuTensor or GpuMask). */
export interface Upstream {
  readonly ready: Promise<void>;
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
  private readonly lost: Promise<void>;
  private active: AllocationScope | null = null;
  /** The optional features kernels use (createAttention's `subgroups` and `f16Arithmetic` narrow them). */
  features: KernelFeatures;
  /** Called with each submitted command buffer's label (the benchmark's hook for timing). */
  onSubmit: ((label: string) => void) | null = null;

  constructor(readonly device: GPUDevice) {
    this.pipelines = new PipelineCache(device);
    this.features = kernelFeatures(device);
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
    this.lost = device.lost.then((info) => {
      this.markDead(`the GPU device was lost (${info.reason}: ${info.message})`);
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

  /** The allocation scope of the submission being encoded; an Error outside {@link submit}. */
  get scope(): AllocationScope {
    if (!this.active) throw new Error('buffers for GPU work are taken inside GpuRuntime.submit()');
    return this.active;
  }

  /**
   * Runs an operation's encode step with an allocation scope, then submits its dispatches in one
   * compute pass. If anything throws before the submit, every buffer the scope gave out is returned
   * and nothing is submitted; after it, scratch returns to the pool and outputs stay with `result`.
   * `ready` rejects with the first failure of: the inputs' `ready`, a pipeline's compile, the submission.
   * @example
   * const { result: out, ready } = runtime.submit([x, weight], (scope) => {
   *   const out = scope.output(bytes, 'linear output');
   *   return { label: 'linear', dispatches: [encodeMatmul(runtime, callWith(out))], result: out };
   * });
   */
  submit<T>(
    inputs: readonly (Upstream | null | undefined)[],
    encode: (scope: AllocationScope) => Encoded<T>,
  ): { result: T; ready: Promise<void> } {
    this.assertAlive();
    if (this.active) throw new Error('GpuRuntime.submit: an operation is already being encoded');
    const scope = new AllocationScope(this.device, this.pool);
    this.active = scope;
    let encoded: Encoded<T>;
    let errors: Promise<void>;
    try {
      encoded = encode(scope);
      errors = this.run(encoded.label, encoded.dispatches);
    } catch (error) {
      scope.abandon();
      throw error;
    } finally {
      this.active = null;
    }
    scope.commit();
    this.onSubmit?.(encoded.label);
    const upstream = inputs.flatMap((input) => (input ? [input.ready] : []));
    const compiled = encoded.dispatches.map((d) => d.pipeline.compiled);
    const ready = this.guard(firstFailure([...upstream, ...compiled, errors]));
    ready.catch(() => undefined);
    return { result: encoded.result, ready };
  }

  /**
   * Encodes dispatches in one compute pass and submits them: the last step of {@link submit}, with
   * the uniforms in its scope. Called on its own (tests, the benchmark: buffers the caller owns), it
   * is a submit without inputs. Resolves when the work validated.
   */
  run(label: string, dispatches: KernelDispatch[]): Promise<void> {
    if (!this.active) return this.submit([], () => ({ label, dispatches, result: undefined })).ready;
    const scope = this.active;
    return withErrorScopes(this.device, label, () => {
      const encoder = this.device.createCommandEncoder({ label });
      const pass = encoder.beginComputePass({ label });
      for (const dispatch of dispatches) {
        const bindGroup = this.bindGroup(dispatch, scope);
        pass.setPipeline(dispatch.pipeline.pipeline);
        pass.setBindGroup(0, bindGroup);
        pass.dispatchWorkgroups(...dispatch.workgroups);
      }
      pass.end();
      this.device.queue.submit([encoder.finish()]);
    }).errors;
  }

  /** @internal `work`, except that once the device is lost (or the context destroyed) a failure is a DeviceLostError. */
  async guard<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      // A failure can arrive before the loss is reported: give the device a moment to say so.
      if (this.alive) await Promise.race([this.lost, this.device.queue.onSubmittedWorkDone().catch(() => undefined)]);
      if (this.deadReason !== null) throw new DeviceLostError(this.deadReason);
      throw error;
    }
  }

  /** @internal Copies `byteLength` bytes at `byteOffset` of `buffer` to the host. */
  readBack(buffer: GPUBuffer, byteOffset: number, byteLength: number): Promise<ArrayBuffer> {
    return this.guard(
      Promise.resolve().then(() => {
        this.assertAlive();
        return readBack(this.device, buffer, byteOffset, byteLength);
      }),
    );
  }

  private bindGroup(dispatch: KernelDispatch, scope: AllocationScope): GPUBindGroup {
    const { layout, bindGroupLayout, label } = dispatch.pipeline;
    const entries: GPUBindGroupEntry[] = layout.bindings.map((binding) => {
      if (binding.kind === 'uniform') {
        const buffer = scope.uniform(packUniforms(layout.uniform!, dispatch.uniforms), `${label} params`);
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

/** Waits for every promise; rejects with the first failure in the given order (an input's before this work's). */
async function firstFailure(promises: Promise<void>[]): Promise<void> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
}
