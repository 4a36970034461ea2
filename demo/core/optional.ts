/**
 * The operations that arrive with issue 15 (feature-map attention, rollout, graph attention), reached
 * through loose types so the page builds against a library with or without them: a section asks
 * `has(attn, 'cbam')` and says "not in this build" where the answer is no.
 */
import type { GpuTensor } from '../../src/index';
import type { Attention } from './gpu';

type T = GpuTensor;

export interface OptionalOps {
  channelAttention(x: T, options: { w1: T; b1?: T; w2: T; b2?: T; pooling: 'avg' | 'avg+max' }): T;
  spatialAttention(x: T, options: { weight: T; bias?: T }): T;
  cbam(x: T, options: { channel: { w1: T; b1?: T; w2: T; b2?: T }; spatial: { weight: T; bias?: T } }): T;
  attentionRollout(
    weights: readonly T[],
    options: { headFusion: 'mean' | 'max' | 'min'; residual?: boolean; discardRatio?: number },
  ): T;
  graph(edgeIndex: { data: Int32Array; shape: number[] }, numNodes: number): { destroy(): void };
  graphAttention(
    x: T,
    graph: { destroy(): void },
    options: { weight: T; attSrc: T; attDst: T; bias?: T; heads: number; concat?: boolean; returnWeights: true },
  ): { output: T; weights: T };
}

/** Whether this build of the library has `name` on the context. */
export function has<K extends keyof OptionalOps>(attn: Attention, name: K): boolean {
  return typeof (attn as unknown as Partial<OptionalOps>)[name] === 'function';
}

/** The context seen with the optional operations (check `has` first). */
export function optional(attn: Attention): OptionalOps {
  return attn as unknown as OptionalOps;
}

export const NOT_IN_BUILD = 'not in this build of the library';
