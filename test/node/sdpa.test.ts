/**
 * Node GPU ring: the flash and naive kernels through Dawn (SwiftShader without a GPU) against
 * the float64 reference, over the shared case table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttention, type AttentionContext } from '../../src/index';
import { CASES } from '../cases';
import { compareArrays } from '../helpers/compare';
import { expectedFor, runFlash, runNaive } from '../helpers/gpu-case';
import { nodeGpu } from '../helpers/node-gpu';

let attn: AttentionContext;
beforeAll(async () => {
  attn = await createAttention({ gpu: await nodeGpu() });
});
afterAll(() => attn?.destroy());

describe('flash sdpa vs reference', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const expected = expectedFor(c);
      const actual = await runFlash(attn, c);
      const output = compareArrays(actual.output, expected.output);
      expect(output.ok, `output: ${output.message}`).toBe(true);
      if (c.returnLse) {
        const lse = compareArrays(actual.lse!, expected.lse);
        expect(lse.ok, `lse: ${lse.message}`).toBe(true);
      }
      expect(attn.stats.liveBuffers).toBe(0);
    });
  }
});

// The naive path materialises Lq × Lk scores: run it where that is small.
const NAIVE_CASES = CASES.filter((c) => c.B * c.Hq * c.Lq * c.Lk <= 300_000);

describe('naive sdpa vs reference (output, weights, lse)', () => {
  for (const c of NAIVE_CASES) {
    it(c.name, async () => {
      const expected = expectedFor(c);
      const actual = await runNaive(attn, c);
      for (const part of ['output', 'weights', 'lse'] as const) {
        const r = compareArrays(actual[part], expected[part]);
        expect(r.ok, `${part}: ${r.message}`).toBe(true);
      }
    });
  }
});
