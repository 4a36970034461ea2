/**
 * Barrier races in the kernels that share workgroup memory among invocations — vision_pool (the
 * tree over lanes, in both lane orders), vision_channel_mlp (hidden units in chunks) and
 * rollout_rows (the tree of the row sum) — found by running one workgroup on the CPU with
 * wgsl_reflect's detectRaces. The kernels are specialised by rewriting their overrides as consts
 * (detectRaces cannot size workgroup arrays by an override). Copies with one barrier removed must
 * report a race, so this test can fail. Values computed by the CPU executor are not used.
 */
import { describe, expect, it } from 'vitest';
import { detectRaces } from 'wgsl_reflect/wgsl_reflect.module.js';
import { shaderLayout } from '../../src/gpu/shader-layout';
import { packUniforms } from '../../src/gpu/uniforms';
import { SHADERS } from '../../src/shaders';
import { specialise } from '../helpers/specialise';

const data = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i + 1));

function expectNoRace(result: ReturnType<typeof detectRaces>) {
  expect(result.errors).toEqual([]);
  expect(result.races.map((r) => r.message)).toEqual([]);
}

function expectRace(result: ReturnType<typeof detectRaces>, variable: RegExp) {
  expect(result.races.length).toBeGreaterThan(0);
  expect(result.races.some((r) => variable.test(r.message))).toBe(true);
}

/** The source with one occurrence of `pattern` replaced; fails if it did not occur. */
function without(source: string, pattern: RegExp | string, replacement = ''): string {
  const broken = source.replace(pattern, replacement);
  expect(broken).not.toEqual(source);
  return broken;
}

// 8 invocations: 2 items × 4 lanes over 7 values (lanes 0–2 take two, lane 3 one), gated; the MLP
// over C = 6 channels and S = 9 hidden units in chunks of 8 (two chunks, the second partial).
const VISION_CONSTS: Record<string, string> = {
  WORKGROUP_SIZE: '8u',
  KEEP_TILE: '2u',
  LANES: '4u',
  LANES_INNER: 'false',
  GATED: 'true',
  AVG_MAX: 'true',
  HAS_B1: 'true',
  HAS_B2: 'true',
  HAS_CONV_BIAS: 'false',
  NHWC: 'false',
  HAS_CHANNEL: 'true',
  HAS_SPATIAL: 'true',
  ELEMENTS: '2u',
};
const LANES_INNER = { ...VISION_CONSTS, LANES_INNER: 'true' };
const [C, S, P] = [6, 9, 7];

function runVision(source: string, entry: 'vision_pool' | 'vision_channel_mlp', consts = VISION_CONSTS) {
  const layout = shaderLayout(SHADERS.vision.source, entry);
  const pool = entry === 'vision_pool';
  const uniforms = packUniforms(layout.uniform!, {
    ...{ channels: C, positions: P, height: 1, width: P, hidden: S, kernel: 1 },
    ...{ items: C, reduce: P, blocks: 3, stride_n: C * P, stride_k: P, stride_r: 1, total: pool ? 3 : 1, groups_x: 1 },
    ...{
      x_offset: 0,
      w1_offset: 0,
      b1_offset: 0,
      w2_offset: 0,
      b2_offset: 0,
      conv_weight_offset: 0,
      conv_bias_offset: 0,
    },
  });
  const bindGroups = {
    0: {
      0: new Uint8Array(uniforms),
      1: data(C * P),
      2: data(S * C),
      3: data(S),
      4: data(C * S),
      5: data(C),
      6: data(2),
      7: data(1),
      8: data(2 * C),
      9: data(C * P),
      10: data(P),
      11: new Float32Array(2 * C),
      12: new Float32Array(C),
      13: new Float32Array(P),
      14: new Float32Array(C * P),
    },
  };
  return detectRaces(specialise(source, consts), entry, [1, 1, 1], bindGroups);
}

describe('detectRaces on vision.wgsl', () => {
  const source = SHADERS.vision.source;
  it('finds no race in vision_pool (a tree over 4 lanes, 2 items; items or lanes as neighbours)', () => {
    expectNoRace(runVision(source, 'vision_pool'));
    expectNoRace(runVision(source, 'vision_pool', LANES_INNER));
  });
  it('finds no race in vision_channel_mlp (two chunks of hidden units)', () => {
    expectNoRace(runVision(source, 'vision_channel_mlp'));
  });
  it('finds the race in a pool without the barrier between the lanes’ values and the tree', () => {
    const broken = without(source, /(red_max\[lid\] = most;\n)  workgroupBarrier\(\);\n/, '$1');
    expectRace(runVision(broken, 'vision_pool'), /red_sum|red_max/);
    expectRace(runVision(broken, 'vision_pool', LANES_INNER), /red_sum|red_max/);
  });
  it('finds the race in a pool without the barrier between the steps of the tree', () => {
    const broken = without(source, /(red_max\[lid \+ span \* partner\]\);\n    \}\n)    workgroupBarrier\(\);\n/, '$1');
    expectRace(runVision(broken, 'vision_pool'), /red_sum|red_max/);
    expectRace(runVision(broken, 'vision_pool', LANES_INNER), /red_sum|red_max/);
  });
  it('finds the race in an MLP without the barrier between writing the hidden units and reading them', () => {
    const broken = without(source, /(u_tile\[lid\] = u;\n)    workgroupBarrier\(\);\n/, '$1');
    expectRace(runVision(broken, 'vision_channel_mlp'), /u_tile/);
  });
  it('finds the race in an MLP without the barrier before the next chunk overwrites them', () => {
    const broken = without(source, /(gate_out\[n \* C \+ c\] = logit;\n    \}\n)    workgroupBarrier\(\);\n/, '$1');
    expectRace(runVision(broken, 'vision_channel_mlp'), /u_tile/);
  });
});

// 4 invocations over a row of L = 10: three column blocks (the last partial), each ranked against
// the whole row; discard 3, residual, transposed.
const ROLLOUT_CONSTS = { WORKGROUP_SIZE: '4u', FUSION: '0u', RESIDUAL: 'true', TRANSPOSE: 'true' };
const L = 10;

function runRows(source: string) {
  const layout = shaderLayout(SHADERS.rollout.source, 'rollout_rows');
  const uniforms = packUniforms(layout.uniform!, {
    ...{ heads: 1, length: L, total: L, groups_x: L, discard_count: 3, w_offset: 0 },
  });
  const bindGroups = {
    0: {
      0: new Uint8Array(uniforms),
      1: data(L * L),
      2: data(L * L),
      3: new Float32Array(L * L),
      4: new Float32Array(L * L),
    },
  };
  return detectRaces(specialise(source, ROLLOUT_CONSTS), 'rollout_rows', [1, 1, 1], bindGroups);
}

describe('detectRaces on rollout.wgsl', () => {
  const source = SHADERS.rollout.source;
  it('finds no race in rollout_rows (three column blocks ranked, the row sum)', () => {
    expectNoRace(runRows(source));
  });
  it('finds the race in a copy without the barrier between the steps of the row-sum tree', () => {
    const broken = without(
      source,
      /(if \(lid < span\) \{ red_sum\[lid\] \+= red_sum\[lid \+ span\]; \}\n)\s*workgroupBarrier\(\);\n/,
      '$1',
    );
    expectRace(runRows(broken), /red_sum/);
  });
  it('finds the race in a copy without the barrier between the partial sums and the tree', () => {
    const broken = without(source, /(red_sum\[lid\] = partial;\n)\s*workgroupBarrier\(\);\n/, '$1');
    expectRace(runRows(broken), /red_sum/);
  });
});
