/**
 * The registry of WGSL sources. `?raw` inlines each file into the bundle (and works under Vitest),
 * so users of the built package need no file access.
 */
import sdpaSource from '../shaders/sdpa.wgsl?raw';
import sdpaNaiveSource from '../shaders/sdpa-naive.wgsl?raw';
import sdpaMergeSource from '../shaders/sdpa-merge.wgsl?raw';
import linearSource from '../shaders/linear.wgsl?raw';
import localSource from '../shaders/local.wgsl?raw';
import linearAttentionSource from '../shaders/linear-attention.wgsl?raw';
import linformerSource from '../shaders/linformer.wgsl?raw';
import additiveSource from '../shaders/additive.wgsl?raw';
import visionSource from '../shaders/vision.wgsl?raw';
import rolloutSource from '../shaders/rollout.wgsl?raw';
import graphSource from '../shaders/graph.wgsl?raw';
import lanesSubgroupSource from '../shaders/prelude/lanes-subgroup.wgsl?raw';
import lanesSingleSource from '../shaders/prelude/lanes-single.wgsl?raw';
import type { ShaderModuleSpec } from './gpu/pipeline-cache';
import type { KernelFeatures } from './gpu/kernel-features';

const composed = new Map<string, ShaderModuleSpec>();

/**
 * sdpa.wgsl with its prelude: the directives the features need, the tile element type, and the lane
 * functions (shaders/prelude/lanes-*.wgsl). One module per feature set, so a pipeline's cache key
 * (the module id) tells them apart.
 * @example runtime.pipelines.get(sdpaShader({ subgroups: true, f16: false }), 'sdpa_forward', overrides)
 */
export function sdpaShader(features: KernelFeatures): ShaderModuleSpec {
  const id = `sdpa.wgsl${features.subgroups ? '+subgroups' : ''}${features.f16 ? '+f16' : ''}`;
  let spec = composed.get(id);
  if (!spec) {
    spec = { id, source: kernelSource(sdpaSource, features) };
    composed.set(id, spec);
  }
  return spec;
}

function kernelSource(kernel: string, features: KernelFeatures): string {
  const directives = [
    ...(features.subgroups ? ['enable subgroups;', 'diagnostic(off, subgroup_uniformity);'] : []),
    ...(features.f16 ? ['enable f16;'] : []),
  ];
  const element = features.f16 ? 'f16' : 'f32';
  const aliases = [`alias tile_scalar = ${element};`, `alias tile_vec4 = vec4<${element}>;`];
  const lanes = features.subgroups ? lanesSubgroupSource : lanesSingleSource;
  return [...directives, ...aliases, lanes, kernel].join('\n');
}

export const SHADERS = {
  /** The portable module (no subgroups, f32 tiles); sdpaShader() gives the others. */
  sdpa: sdpaShader({ subgroups: false, f16: false }),
  sdpaNaive: { id: 'sdpa-naive.wgsl', source: sdpaNaiveSource },
  sdpaMerge: { id: 'sdpa-merge.wgsl', source: sdpaMergeSource },
  linear: { id: 'linear.wgsl', source: linearSource },
  local: { id: 'local.wgsl', source: localSource },
  linearAttention: { id: 'linear-attention.wgsl', source: linearAttentionSource },
  linformer: { id: 'linformer.wgsl', source: linformerSource },
  additive: { id: 'additive.wgsl', source: additiveSource },
  vision: { id: 'vision.wgsl', source: visionSource },
  rollout: { id: 'rollout.wgsl', source: rolloutSource },
  graph: { id: 'graph.wgsl', source: graphSource },
} satisfies Record<string, ShaderModuleSpec>;
