/**
 * Compiled pipelines per device. What compiles (shader, entry point, overrides) is the key;
 * shapes travel in uniforms, so one pipeline serves every size with the same tiling. Modules and
 * pipelines are created inside error scopes: a compile that fails leaves the cache (the next call
 * tries again) and reports a GpuError labelled with the pipeline's label through `compiled`.
 */
import { withErrorScopes } from './error-scopes';
import { bindGroupLayoutEntries, shaderLayout, type ShaderLayout } from './shader-layout';

export type Overrides = Record<string, number | boolean>;

export interface ShaderModuleSpec {
  id: string;
  source: string;
}

export interface CachedPipeline {
  pipeline: GPUComputePipeline;
  bindGroupLayout: GPUBindGroupLayout;
  layout: ShaderLayout;
  label: string;
  /** Settles when the device has checked the compile; rejects with a GpuError carrying `label`. */
  compiled: Promise<void>;
}

/** `sdpa_forward[BLOCK_Q=32,TILE_KV=32]`: the label every GPU object of a pipeline carries. */
export function pipelineLabel(entryPoint: string, overrides: Overrides): string {
  const parts = Object.keys(overrides)
    .sort()
    .map((k) => `${k}=${Number(overrides[k])}`);
  return `${entryPoint}[${parts.join(',')}]`;
}

export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, CachedPipeline>();
  /** When set, each new pipeline's source and overrides are logged (the debug switch). */
  debug = false;

  constructor(private readonly device: GPUDevice) {}

  get(shader: ShaderModuleSpec, entryPoint: string, overrides: Overrides): CachedPipeline {
    const label = pipelineLabel(entryPoint, overrides);
    const key = `${shader.id}:${label}`;
    const cached = this.pipelines.get(key);
    if (cached) return cached;
    const created = this.create(shader, entryPoint, overrides, label);
    this.pipelines.set(key, created);
    created.compiled.catch(() => {
      if (this.pipelines.get(key) === created) this.pipelines.delete(key);
    });
    return created;
  }

  get size(): number {
    return this.pipelines.size;
  }

  private create(shader: ShaderModuleSpec, entryPoint: string, overrides: Overrides, label: string): CachedPipeline {
    const layout = shaderLayout(shader.source, entryPoint);
    for (const name of Object.keys(overrides)) {
      if (!layout.overrides.has(name)) throw new Error(`${shader.id} has no override '${name}'`);
    }
    if (this.debug) console.debug(`[webgpu-attention] new pipeline ${label}\n${shader.source}`);
    // A new module is made in the pipeline's scope, so a WGSL error is reported with this label.
    const known = this.modules.get(shader.id);
    const { result, errors } = withErrorScopes(this.device, label, () => {
      const module = known ?? this.device.createShaderModule({ label: shader.id, code: shader.source });
      const bindGroupLayout = this.device.createBindGroupLayout({ label, entries: bindGroupLayoutEntries(layout) });
      const pipeline = this.device.createComputePipeline({
        label,
        layout: this.device.createPipelineLayout({ label, bindGroupLayouts: [bindGroupLayout] }),
        compute: { module, entryPoint, constants: toConstants(overrides) },
      });
      return { module, pipeline, bindGroupLayout };
    });
    if (!known) {
      this.modules.set(shader.id, result.module);
      errors.catch(() => {
        if (this.modules.get(shader.id) === result.module) this.modules.delete(shader.id);
      });
    }
    return { pipeline: result.pipeline, bindGroupLayout: result.bindGroupLayout, layout, label, compiled: errors };
  }
}

function toConstants(overrides: Overrides): Record<string, number> {
  const constants: Record<string, number> = {};
  for (const [k, v] of Object.entries(overrides)) constants[k] = Number(v);
  return constants;
}
