/**
 * Random cases (fast-check) through the flash kernel against the float64 reference. Head dims
 * are drawn from a few values so that the run compiles a bounded number of pipelines; lengths,
 * heads, layouts, alignments and masks vary freely.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAttention, type AttentionContext } from '../../src/index';
import type { SdpaCase } from '../cases';
import { compareArrays } from '../helpers/compare';
import { expectedFor, runFlash } from '../helpers/gpu-case';
import { nodeGpu } from '../helpers/node-gpu';

let attn: AttentionContext;
beforeAll(async () => {
  attn = await createAttention({ gpu: await nodeGpu() });
});
afterAll(() => attn?.destroy());

const caseArbitrary: fc.Arbitrary<SdpaCase> = fc
  .record({
    B: fc.integer({ min: 1, max: 2 }),
    Hkv: fc.integer({ min: 1, max: 2 }),
    group: fc.constantFrom(1, 2, 3),
    Lq: fc.integer({ min: 1, max: 70 }),
    Lk: fc.integer({ min: 1, max: 70 }),
    D: fc.constantFrom(4, 16, 32),
    Dv: fc.constantFrom(4, 16),
    layout: fc.constantFrom('bhsd' as const, 'bshd' as const),
    causal: fc.boolean(),
    alignment: fc.constantFrom('upper-left' as const, 'lower-right' as const),
    mask: fc.constantFrom('none', 'bool', 'float'),
    seed: fc.integer({ min: 0, max: 1e6 }),
  })
  .map((r) => ({
    name: `random seed=${r.seed} B=${r.B} Hq=${r.Hkv * r.group} Hkv=${r.Hkv} Lq=${r.Lq} Lk=${r.Lk} D=${r.D} Dv=${r.Dv} ${r.layout} causal=${r.causal} ${r.alignment} mask=${r.mask}`,
    B: r.B,
    Hq: r.Hkv * r.group,
    Hkv: r.Hkv,
    Lq: r.Lq,
    Lk: r.Lk,
    D: r.D,
    Dv: r.Dv,
    layout: r.layout,
    causal: r.causal,
    alignment: r.alignment,
    returnLse: true,
    mask:
      r.mask === 'none'
        ? undefined
        : { kind: r.mask as 'bool' | 'float', shape: [r.B, 1, r.Lq, r.Lk], fill: 'random' as const },
  }));

/** The case through the flash kernel matches the reference, output and log-sum-exp. */
async function matchesReference(c: SdpaCase): Promise<void> {
  const expected = expectedFor(c);
  const actual = await runFlash(attn, c);
  const output = compareArrays(actual.output, expected.output);
  const lse = compareArrays(actual.lse!, expected.lse);
  expect(output.ok, `${c.name}: output ${output.message}`).toBe(true);
  expect(lse.ok, `${c.name}: lse ${lse.message}`).toBe(true);
}

/** Windows, dilation and global tokens, at one head dim (bounded compiles). */
const windowArbitrary: fc.Arbitrary<SdpaCase> = fc
  .record({
    Lq: fc.integer({ min: 1, max: 90 }),
    Lk: fc.integer({ min: 1, max: 90 }),
    left: fc.integer({ min: -1, max: 40 }),
    right: fc.integer({ min: -1, max: 40 }),
    dilation: fc.integer({ min: 1, max: 4 }),
    causal: fc.boolean(),
    alignment: fc.constantFrom('upper-left' as const, 'lower-right' as const),
    globals: fc.array(fc.nat(), { maxLength: 3 }),
    seed: fc.integer({ min: 0, max: 1e6 }),
  })
  .map((r) => {
    const globalTokens = [...new Set(r.globals.map((g) => g % r.Lk))];
    return {
      name: `random window seed=${r.seed} Lq=${r.Lq} Lk=${r.Lk} window=${r.left}/${r.right} dilation=${r.dilation} causal=${r.causal} ${r.alignment} globals=${globalTokens}`,
      B: 1,
      Hq: 2,
      Hkv: 1,
      Lq: r.Lq,
      Lk: r.Lk,
      D: 16,
      Dv: 16,
      causal: r.causal,
      alignment: r.alignment,
      returnLse: true,
      window: { left: r.left, right: r.right },
      dilation: r.dilation,
      globalTokens,
    };
  });

it('flash sdpa matches the reference on random windows, dilations and global tokens', async () => {
  await fc.assert(fc.asyncProperty(windowArbitrary, matchesReference), { numRuns: 20, seed: 20261124 });
});

it('flash sdpa matches the reference on random shapes and options', async () => {
  await fc.assert(fc.asyncProperty(caseArbitrary, matchesReference), { numRuns: 25, seed: 20261123 });
});
