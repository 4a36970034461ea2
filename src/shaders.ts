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
import type { ShaderModuleSpec } from './gpu/pipeline-cache';

export const SHADERS = {
  sdpa: { id: 'sdpa.wgsl', source: sdpaSource },
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
