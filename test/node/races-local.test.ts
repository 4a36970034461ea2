/**
 * Barrier races in the neighbourhood kernel (local_neighborhood), found by running one workgroup on
 * the CPU with wgsl_reflect's detectRaces. The kernel is specialised by rewriting its overrides as
 * consts (detectRaces cannot size workgroup arrays by an override). Copies with one barrier removed
 * must report a race, so this test can fail. Values computed by the CPU executor are not used.
 */
import { describe, expect, it } from 'vitest';
import { detectRaces } from 'wgsl_reflect/wgsl_reflect.module.js';
import { shaderLayout } from '../../src/gpu/shader-layout';
import { packUniforms } from '../../src/gpu/uniforms';
import { SHADERS } from '../../src/shaders';
import { specialise } from '../helpers/specialise';

// 2 × 2 queries, 3 × 3 kernel, one vec4 per chunk: D = Dv = 8 run two chunks of each loop.
const CONSTS: Record<string, string> = {
  TILE_Y: '2u',
  TILE_X: '2u',
  KERNEL_Y: '3u',
  KERNEL_X: '3u',
  CHUNK_VEC4: '1u',
  WORKGROUP_SIZE: '4u',
  HAS_RPB: 'true',
  IS_CAUSAL_Y: 'true',
  IS_CAUSAL_X: 'false',
  Q_F16: 'false',
  K_F16: 'false',
  V_F16: 'false',
  RPB_F16: 'false',
};

function run(source: string) {
  const layout = shaderLayout(SHADERS.local.source, 'local_neighborhood');
  const [Y, X, D] = [4, 4, 8];
  const strides = { stride_b: Y * X * D, stride_h: Y * X * D, stride_y: X * D, stride_x: D };
  const tensor = (prefix: string) =>
    Object.fromEntries([[`${prefix}_offset`, 0], ...Object.entries(strides).map(([k, v]) => [`${prefix}_${k}`, v])]);
  const uniforms = packUniforms(layout.uniform!, {
    batch: 1,
    q_heads: 1,
    kv_group: 1,
    head_dim: D,
    value_dim: D,
    qk_chunks: 2,
    v_chunks: 2,
    groups_x: 4,
    map_y: Y,
    map_x: X,
    dilation_y: 1,
    dilation_x: 1,
    kernel_y: 3,
    kernel_x: 3,
    tiles_y: 2,
    tiles_x: 2,
    scale: 0.5,
    minus_infinity: -Infinity,
    ...tensor('q'),
    ...tensor('k'),
    ...tensor('v'),
    ...tensor('o'),
    rpb_offset: 0,
  });
  const data = () => Float32Array.from({ length: Y * X * D }, (_, i) => Math.sin(i));
  const bindGroups = {
    0: {
      0: new Uint8Array(uniforms),
      1: data(),
      2: data(),
      3: data(),
      4: new Float32Array(25),
      5: new Float32Array(Y * X * D),
    },
  };
  return detectRaces(specialise(source, CONSTS), 'local_neighborhood', [1, 1, 1], bindGroups);
}

/** The source without the barrier that follows `call` (exactly one must be removed). */
function withoutBarrierAfter(call: string): string {
  const pattern = new RegExp(`(${call.replace(/[()]/g, '\\$&')};\\s*)workgroupBarrier\\(\\);`);
  const broken = SHADERS.local.source.replace(pattern, '$1');
  expect(broken).not.toEqual(SHADERS.local.source);
  return broken;
}

describe('detectRaces on local_neighborhood', () => {
  it('finds no race (causal y, rpb, two chunks of q·k and of p·v, 4 invocations)', () => {
    const result = run(SHADERS.local.source);
    expect(result.errors).toEqual([]);
    expect(result.races.map((r) => r.message)).toEqual([]);
  });

  it('finds the race in a copy without the barrier between loading V and reading it', () => {
    const result = run(withoutBarrierAfter('load_v_chunk(t, chunk, tid)'));
    expect(result.races.some((r) => r.message.includes('kv_tile'))).toBe(true);
  });

  it('finds the race in a copy without the barrier between the scores and the softmax / next K load', () => {
    const result = run(withoutBarrierAfter('accumulate_scores(t, chunk, tid)'));
    expect(result.races.some((r) => r.message.includes('scores'))).toBe(true);
    expect(result.races.some((r) => r.message.includes('kv_tile'))).toBe(true);
  });
});
