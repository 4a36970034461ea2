/** The naive kernels' plan: the score matrix must fit one binding, and every pass's grid must dispatch. */
import { describe, expect, it } from 'vitest';
import { AttentionError } from '../../../src/errors';
import { NAIVE_WORKGROUP_SIZE, planNaive } from '../../../src/ops/sdpa/plan-naive';
import { WEBGPU_MINIMUM } from '../../helpers/limits';

const dims = (Lq: number, Lk: number, B = 1, Hq = 8, Dv = 64) => ({ B, Hq, Hkv: 2, Lq, Lk, D: 64, Dv });

describe('planNaive', () => {
  it('gives each pass one invocation per score, row, output element and averaged weight', () => {
    const plan = planNaive(dims(100, 300, 2), WEBGPU_MINIMUM);
    const groups = (threads: number) => Math.ceil(threads / NAIVE_WORKGROUP_SIZE);
    expect(plan.scoreElements).toBe(2 * 8 * 100 * 300);
    expect(plan.scores).toEqual([groups(2 * 8 * 100 * 300), 1, 1]);
    expect(plan.softmax).toEqual([groups(2 * 8 * 100), 1, 1]);
    expect(plan.output).toEqual([groups(2 * 8 * 100 * 64), 1, 1]);
    expect(plan.headMean).toEqual([groups(2 * 100 * 300), 1, 1]);
  });

  it('folds a pass past 65535 workgroups into y', () => {
    const plan = planNaive(dims(2048, 2048), WEBGPU_MINIMUM); // 32 Mi scores: 131072 workgroups
    expect(plan.scores[1]).toBe(3); // ⌈131072 / 65535⌉
    expect(plan.scores[0] * plan.scores[1]).toBeGreaterThanOrEqual(131072);
  });

  it('refuses scores past the binding limit, naming the argument and pointing at attn.sdpa', () => {
    const call = () => planNaive(dims(4096, 4096, 1, 8), WEBGPU_MINIMUM, 'options.needWeights'); // 512 MiB of scores
    expect(call).toThrow(AttentionError);
    expect(call).toThrow(/^options\.needWeights: got B·Hq·Lq·Lk = 134217728 scores .* use attn\.sdpa/);
  });
});
