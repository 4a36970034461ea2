/**
 * The flash kernel's two ways of reducing softmax rows: subgroups (where the device has them; Dawn's
 * SwiftShader reports size 4) and the workgroup-memory path (`createAttention({ subgroups: false })`,
 * and every device without subgroups, such as wgpu's). The whole case table runs with the default in
 * sdpa.test.ts (subgroups on here) and on wgpu (none there); this file runs a cross-section of it on
 * both paths side by side, checks which module each context compiled, and the option's errors.
 * Sizes other than the device's cannot be made here: the kernel counts its lanes and groups rather
 * than assuming any (shaders/prelude/lanes-subgroup.wgsl), which is what makes 4 to 128 alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttentionError, createAttention, type AttentionContext } from '../../src/index';
import { CASES } from '../cases';
import { compareArrays } from '../helpers/compare';
import { expectedFor, runFlash } from '../helpers/gpu-case';
import { nodeGpu } from '../helpers/node-gpu';

/** Cases touching every way rows and keys reach the softmax: packing, decode, splits, masks, edges. */
const CROSS_SECTION = [
  'L=1 D=32',
  'L=257 D=32',
  'D=256 L=100 B=2',
  'Lq=1 Lk=257 decode',
  'f16 q, f32 k v, decode Lq=1 Lk=1000 GQA 8/2 D=64 (split keys)',
  'GQA Hq=4 Hkv=2',
  'causal lower-right Lq=33 Lk=7 (dead rows)',
  'fully masked rows (float -inf)',
  'scores ±1e4 causal lse',
  'softcap with mask and causal',
  'global tokens causal dilation 2 L=257 D=32',
  'block-sparse BigBird 16-token blocks L=150',
];

let adapter: GPUAdapter;
let withSubgroups: AttentionContext;
let without: AttentionContext;
/** The shader module ids each context asked the pipeline cache for. */
const modules = new Map<AttentionContext, Set<string>>();

function recordModules(attn: AttentionContext): void {
  const seen = new Set<string>();
  modules.set(attn, seen);
  const get = attn.runtime.pipelines.get.bind(attn.runtime.pipelines);
  attn.runtime.pipelines.get = (shader, entry, overrides) => {
    seen.add(shader.id);
    return get(shader, entry, overrides);
  };
}

beforeAll(async () => {
  adapter = (await (await nodeGpu()).requestAdapter())!;
  withSubgroups = await createAttention({ gpu: await nodeGpu() });
  without = await createAttention({ gpu: await nodeGpu(), subgroups: false });
  recordModules(withSubgroups);
  recordModules(without);
  const info = adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  console.log(
    `adapter ${info.description}: subgroups ${adapter.features.has('subgroups')}` +
      ` (sizes ${info.subgroupMinSize ?? '?'}–${info.subgroupMaxSize ?? '?'}), shader-f16 ${adapter.features.has('shader-f16')}`,
  );
});
afterAll(() => {
  withSubgroups?.destroy();
  without?.destroy();
});

describe('subgroup and workgroup-memory paths give the reference', () => {
  const cases = CASES.filter((c) => CROSS_SECTION.includes(c.name));
  it('every named case exists', () => expect(cases.map((c) => c.name).sort()).toEqual([...CROSS_SECTION].sort()));
  for (const c of cases) {
    it(c.name, async () => {
      const expected = expectedFor(c);
      for (const [path, attn] of [
        ['default', withSubgroups],
        ['subgroups: false', without],
      ] as const) {
        const actual = await runFlash(attn, c);
        const output = compareArrays(actual.output, expected.output);
        expect(output.ok, `${path} output: ${output.message}`).toBe(true);
        if (c.returnLse) {
          const lse = compareArrays(actual.lse!, expected.lse);
          expect(lse.ok, `${path} lse: ${lse.message}`).toBe(true);
        }
      }
    });
  }

  it('each context compiled the module its features call for', () => {
    const has = adapter.features.has('subgroups');
    expect(withSubgroups.runtime.features.subgroups).toBe(has);
    expect([...modules.get(withSubgroups)!].some((id) => id.includes('+subgroups'))).toBe(has);
    expect(without.runtime.features.subgroups).toBe(false);
    expect([...modules.get(without)!].filter((id) => id.includes('+subgroups'))).toEqual([]);
    expect([...modules.get(without)!]).toContain('sdpa.wgsl');
  });
});

describe('createAttention feature options', () => {
  const rejects = async (options: object, argument: string) => {
    const error = await createAttention({ gpu: await nodeGpu(), ...options }).then(
      (attn) => (attn.destroy(), null),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AttentionError);
    expect((error as AttentionError).argument).toBe(argument);
    return (error as AttentionError).message;
  };

  it('a feature the device was made without is refused, naming the option', async () => {
    const bare = await adapter.requestDevice();
    const error = await createAttention({ device: bare, subgroups: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AttentionError);
    expect((error as AttentionError).message).toMatchInlineSnapshot(
      `"options.subgroups: got true, but the device was created without the 'subgroups' feature; expected false or undefined (or a device made with requiredFeatures: ['subgroups'])"`,
    );
    const plain = await createAttention({ device: bare });
    expect(plain.runtime.features).toEqual({ subgroups: false, f16: false });
    plain.destroy();
    bare.destroy();
  });

  it.skipIf(adapter?.features.has('shader-f16'))('f16Arithmetic: true without shader-f16 is refused', async () => {
    expect(await rejects({ f16Arithmetic: true }, 'options.f16Arithmetic')).toMatch(/'shader-f16' feature/);
  });

  it('a value that is not a boolean is refused', async () => {
    expect(await rejects({ subgroups: 'yes' }, 'options.subgroups')).toMatch(/true, false or undefined/);
  });
});
