/**
 * Compiled pipelines per device. What compiles (shader, entry point, overrides) is the key;
 * shapes travel in uniforms, so one pipeline serves every size with the same tiling.
 */
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
    let cached = this.pipelines.get(key);
    if (!cached) {
      cached = this.create(shader, entryPoint, overrides, label);
      this.pipelines.set(key, cached);
    }
    return cached;
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
    const bindGroupLayout = this.device.createBindGroupLayout({ label, entries: bindGroupLayoutEntries(layout) });
    const pipeline = this.device.createComputePipeline({
      label,
      layout: this.device.createPipelineLayout({ label, bindGroupLayouts: [bindGroupLayout] }),
      compute: { module: this.module(shader), entryPoint, constants: toConstants(overrides) },
    });
    return { pipeline, bindGroupLayout, layout, label };
  }

  private module(shader: ShaderModuleSpec): GPUShaderModule {
    let module = this.modules.get(shader.id);
    if (!module) {
      module = this.device.createShaderModule({ label: shader.id, code: shader.source });
      this.modules.set(shader.id, module);
    }
    return module;
  }
}

function toConstants(overrides: Overrides): Record<string, number> {
  const constants: Record<string, number> = {};
  for (const [k, v] of Object.entries(overrides)) constants[k] = Number(v);
  return constants;
}
