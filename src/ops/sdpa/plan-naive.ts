/**
 * Plan of the naive three-pass kernels (shaders/sdpa-naive.wgsl): pure, from the sizes and the
 * device's limits. The score matrix [B, Hq, Lq, Lk] must fit one buffer binding (a failed allocation
 * in WebGPU does not throw, it only logs), and every pass's grid must be dispatchable.
 */
import type { SdpaDims } from '../../contract/sdpa';
import { AttentionError } from '../../errors';
import { bindableBytes, foldGrid, type DeviceLimits } from '../../gpu/limits';

/** Invocations per workgroup of every naive pass (one invocation per score, row or output element). */
export const NAIVE_WORKGROUP_SIZE = 256;

/** The workgroup grid of each pass. */
export interface NaivePlan {
  scores: [number, number, number];
  softmax: [number, number, number];
  output: [number, number, number];
  /** The mean of the weights over heads, [B, Lq, Lk] (the layer's averaged weights). */
  headMean: [number, number, number];
  /** B·Hq·Lq·Lk: the f32 elements of the score buffer. */
  scoreElements: number;
}

/**
 * Checks that the naive path can run `dims` on a device with `limits`; throws an AttentionError on
 * `argument` otherwise.
 * @example
 * planNaive({ B: 1, Hq: 8, Hkv: 8, Lq: 512, Lk: 512, D: 64, Dv: 64 }, device.limits).scores; // [8192, 1, 1]
 */
export function planNaive(dims: SdpaDims, limits: DeviceLimits, argument = 'q'): NaivePlan {
  const { B, Hq, Lq, Lk, Dv } = dims;
  const scoreElements = B * Hq * Lq * Lk;
  const limit = bindableBytes(limits);
  if (scoreElements * 4 > limit || scoreElements >= 2 ** 32) {
    throw new AttentionError(
      argument,
      `B·Hq·Lq·Lk = ${scoreElements} scores (${scoreElements * 4} bytes) for the naive path`,
      `at most ${Math.floor(limit / 4)} scores (this device's buffer binding limit); use attn.sdpa, which never materialises them`,
    );
  }
  const grid = (threads: number) => {
    const workgroups = Math.ceil(threads / NAIVE_WORKGROUP_SIZE);
    return foldGrid(workgroups, limits, argument, `${threads} invocations (${workgroups} workgroups)`);
  };
  return {
    scores: grid(scoreElements),
    softmax: grid(B * Hq * Lq),
    output: grid(B * Hq * Lq * Dv),
    headMean: grid(B * Lq * Lk),
    scoreElements,
  };
}
