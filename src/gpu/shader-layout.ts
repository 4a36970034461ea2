/**
 * What a pipeline needs to know about an entry point, taken from the WGSL by reflection:
 * its bindings (in binding order) and the uniform struct's member offsets. No offset is written in TS.
 */
import { reflectShader } from './reflect';

export type BindingKind = 'uniform' | 'read-only-storage' | 'storage';

export interface BindingInfo {
  name: string;
  binding: number;
  kind: BindingKind;
}
export interface UniformMember {
  name: string;
  offset: number;
  type: string;
}
export interface UniformLayout {
  structName: string;
  size: number;
  members: Map<string, UniformMember>;
}

export interface ShaderLayout {
  entryPoint: string;
  bindings: BindingInfo[];
  /** The params uniform (binding 0), if the entry point uses one. */
  uniform: UniformLayout | null;
  overrides: Set<string>;
}

const layouts = new Map<string, ShaderLayout>();

/** Reflects the bindings and uniform layout of one compute entry point (cached). */
export function shaderLayout(source: string, entryPoint: string): ShaderLayout {
  const key = `${entryPoint}\u0000${source}`;
  let layout = layouts.get(key);
  if (!layout) {
    layout = reflectEntryPoint(source, entryPoint);
    layouts.set(key, layout);
  }
  return layout;
}

function reflectEntryPoint(source: string, entryPoint: string): ShaderLayout {
  const reflection = reflectShader(source);
  const entry = reflection.entry.compute.find((f) => f.name === entryPoint);
  if (!entry) throw new Error(`shader has no compute entry point '${entryPoint}'`);
  const bindings: BindingInfo[] = [];
  let uniform: UniformLayout | null = null;
  for (const resource of entry.resources) {
    if (resource.group !== 0) throw new Error(`${entryPoint}: binding ${resource.name} is not in group 0`);
    const kind = bindingKind(resource.resourceType, resource.access);
    bindings.push({ name: resource.name, binding: resource.binding, kind });
    if (kind === 'uniform') uniform = uniformLayout(resource.type.name, resource.members ?? [], resource.size);
  }
  bindings.sort((a, b) => a.binding - b.binding);
  const overrides = new Set(reflection.overrides.map((o) => o.name));
  return { entryPoint, bindings, uniform, overrides };
}

function bindingKind(resourceType: number, access: string): BindingKind {
  // ResourceType.Uniform = 0, ResourceType.Storage = 1 (wgsl_reflect's enum).
  if (resourceType === 0) return 'uniform';
  if (resourceType === 1) return access === 'read' ? 'read-only-storage' : 'storage';
  throw new Error(`unsupported resource type ${resourceType}`);
}

function uniformLayout(
  structName: string,
  members: { name: string; offset: number; type: { name: string; getTypeName(): string } }[],
  size: number,
): UniformLayout {
  const map = new Map<string, UniformMember>();
  for (const m of members) map.set(m.name, { name: m.name, offset: m.offset, type: m.type.getTypeName() });
  return { structName, size, members: map };
}

/** Bind group layout entries for a reflected entry point (compute visibility). */
export function bindGroupLayoutEntries(layout: ShaderLayout): GPUBindGroupLayoutEntry[] {
  return layout.bindings.map((b) => ({
    binding: b.binding,
    visibility: GPUShaderStage.COMPUTE,
    buffer: { type: b.kind },
  }));
}
