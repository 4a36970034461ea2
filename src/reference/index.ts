/**
 * The float64 CPU path: the same operations and options as the GPU context, for users without
 * WebGPU (a fallback) and for every correctness test (the oracle).
 */
import { sdpa } from './sdpa';
import { neighborhood1d, neighborhood2d } from './neighborhood';
import { multiHeadAttention } from './multi-head';
import { linear } from './linear';
import { kvCache } from './kv-cache';
import { sdpaVarlen } from './varlen';
import { linearAttention } from './linear-attention';
import { linformer } from './linformer';
import { additive } from './additive';
import { multiplicative } from './multiplicative';
import { cbam, channelAttention, spatialAttention } from './vision';
import { attentionRollout } from './rollout';
import { graph, graphAttention } from './graph';

export type { ReferenceSdpaOutputs } from './sdpa';
export type { ReferenceVarlenOutputs } from './varlen';
export type { ReferenceNeighborhood1dOptions, ReferenceNeighborhood2dOptions } from './neighborhood';
export type {
  ReferenceMhaConfig,
  ReferenceMhaOptions,
  ReferenceMhaOutputs,
  ReferenceMultiHeadAttention,
} from './multi-head';
export type { ReferenceKvCache } from './kv-cache';
export type { ReferenceLinformerOptions } from './linformer';
export type { ReferenceAdditiveOptions } from './additive';
export type { ReferenceMultiplicativeOptions } from './multiplicative';
export type {
  ReferenceCbamOptions,
  ReferenceChannelAttentionOptions,
  ReferenceSpatialAttentionOptions,
} from './vision';
export type { HostGraph, ReferenceGraphAttentionOptions, ReferenceGraphAttentionOutputs } from './graph';
export type { ReferenceScoreOutputs } from './score-functions';
export type { HostResult, HostTensor, ReferenceSdpaOptions } from '../contract/types';

/**
 * CPU reference operations (float64).
 * @example
 * import { reference } from 'webgpu-attention';
 * const out = reference.sdpa(q, k, v, { causal: true }); // { data: Float64Array, shape }
 * const local = reference.neighborhood2d(q5, k5, v5, { kernel: 7, dilation: 2 }); // q5 [B, H, Y, X, D]
 * const y = reference.multiHeadAttention({ embedDim: 8, numHeads: 2, weights }).forward(x);
 * const z = reference.linear(x, weight, bias); // x [..., K], weight [N, K], bias [N] → [..., N]
 * const cache = reference.kvCache({ batch: 1, kvHeads: 2, headDim: 4, capacity: 16 }); // cache.append(k, v)
 * const packed = reference.sdpaVarlen(q3, k3, v3, { cuSeqlensQ: [0, 2, 5], cuSeqlensK: [0, 2, 5] }); // q3 [5, H, D]
 * const lin = reference.linearAttention(q, k, v, { featureMap: 'elu+1', causal: true });
 * const low = reference.linformer(q, k, v, { projectK: E, projectV: F }); // E, F [r, Lk]
 * const bahdanau = reference.additive(q, k, v, { wq, wk, va }); // q [B, Lq, Dq], wq [A, Dq], wk [A, Dk], va [A]
 * const luong = reference.multiplicative(q, k, v, { weight }); // weight [Dq, Dk]
 * const se = reference.channelAttention(x, { w1, w2, pooling: 'avg' }); // x [N, C, H, W], w1 [C/r, C]; also spatialAttention, cbam
 * const r = reference.attentionRollout([w1, w2], { headFusion: 'mean' }); // w [B, H, L, L] → [B, L, L]
 * const gat = reference.graphAttention(x, reference.graph(edgeIndex, N), { weight, attSrc, attDst, heads: 3 }); // GATConv
 */
export const reference = {
  sdpa,
  sdpaVarlen,
  neighborhood2d,
  neighborhood1d,
  multiHeadAttention,
  linear,
  kvCache,
  additive,
  multiplicative,
  channelAttention,
  spatialAttention,
  cbam,
  attentionRollout,
  graph,
  graphAttention,
  linearAttention,
  linformer,
};
