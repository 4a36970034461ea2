/**
 * Barrier races in the additive kernel (shaders/additive.wgsl), found by running one workgroup on
 * the CPU with wgsl_reflect's detectRaces. The kernel is specialised by rewriting its overrides as
 * consts (detectRaces cannot size workgroup arrays by an override). Copies with a barrier removed
 * must report a race, so this test can fail. Values computed by the CPU executor are not used.
 */
import { describe, expect, it } from 'vitest';
import { detectRaces } from 'wgsl_reflect/wgsl_reflect.module.js';
import { shaderLayout } from '../../src/gpu/shader-layout';
import { packUniforms } from '../../src/gpu/uniforms';
import { SHADERS } from '../../src/shaders';
import { specialise } from '../helpers/specialise';

// 8 queries × 8 keys per tile: 4 blocks of 4 × 4 scores; 2 invocations, so every loop strides.
const CONSTS: Record<string, string> = {
  BLOCK_Q: '8u',
  TILE_KV: '8u',
  ATT_DIM_VEC4: '2u',
  VALUE_DIM_VEC4: '2u',
  KV_STRIDE: '3u',
  WORKGROUP_SIZE: '2u',
  IS_CAUSAL: 'true',
  HAS_MASK: 'true',
  MASK_IS_BOOL: 'true',
  MASK_F16: 'false',
  V_F16: 'false',
  VA_F16: 'false',
  WRITE_STATS: 'true',
};

function run(source: string, consts = CONSTS) {
  const layout = shaderLayout(SHADERS.additive.source, 'additive_forward');
  const [L, Lk, A, Dv] = [8, 16, 8, 8]; // two key tiles (causal: the block's last query sees key 7, so one runs)
  const uniforms = packUniforms(layout.uniform!, {
    batch: 1,
    q_len: L,
    kv_len: Lk,
    att_dim: A,
    value_dim: Dv,
    q_blocks: 1,
    att_dim_vec4: 2,
    tile_kv: 8,
    groups_x: 1,
    minus_infinity: -Infinity,
    va_offset: 0,
    v_offset: 0,
    m_offset: 0,
    m_stride_b: 0,
    m_stride_q: Lk,
    m_stride_k: 1,
  });
  const data = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i));
  const bindGroups = {
    0: {
      0: new Uint8Array(uniforms),
      1: data(L * A),
      2: data(Lk * A),
      3: data(A),
      4: data(Lk * Dv),
      5: new Uint32Array((L * Lk) / 4).fill(0x01010101),
      6: new Float32Array(L * Dv),
      7: new Float32Array(2 * L),
      8: new Float32Array(L * Lk),
    },
  };
  return detectRaces(specialise(source, consts), 'additive_forward', [1, 1, 1], bindGroups);
}

/**
 * Not causal: both key tiles run, so the loop's closing barrier guards a second tile. 3 invocations:
 * no loop's stride lines up with another's, so every shared tile crosses invocations.
 */
const FULL = { ...CONSTS, IS_CAUSAL: 'false', HAS_MASK: 'false', WORKGROUP_SIZE: '3u' };

describe('detectRaces on additive_forward', () => {
  it('finds no race (causal, a boolean mask, the row statistics written, 2 invocations)', () => {
    const result = run(SHADERS.additive.source);
    expect(result.errors).toEqual([]);
    expect(result.races.map((r) => r.message)).toEqual([]);
  });

  it('finds no race over two key tiles with 3 invocations', () => {
    const result = run(SHADERS.additive.source, FULL);
    expect(result.errors).toEqual([]);
    expect(result.races.map((r) => r.message)).toEqual([]);
  });

  it('finds the race in a copy without the barrier between loading pk and the scores', () => {
    const broken = SHADERS.additive.source.replace(
      /(load_pk_tile\(b, key_start, tid\);\s*)workgroupBarrier\(\);/,
      '$1',
    );
    expect(broken).not.toEqual(SHADERS.additive.source);
    const result = run(broken);
    expect(result.races.some((r) => r.message.includes('kv_tile'))).toBe(true);
  });

  it('finds the race in a copy without the barrier between the scores and the softmax', () => {
    const broken = SHADERS.additive.source.replace(
      /(compute_scores\(b, row_start, key_start, tid\);\s*)workgroupBarrier\(\);/,
      '$1',
    );
    expect(broken).not.toEqual(SHADERS.additive.source);
    const result = run(broken);
    expect(result.races.some((r) => /p_tile|kv_tile/.test(r.message))).toBe(true);
  });

  it('finds the race in a copy without the barrier that closes a key tile', () => {
    const broken = SHADERS.additive.source.replace(/(accumulate\(tid\);\s*)workgroupBarrier\(\);/, '$1');
    expect(broken).not.toEqual(SHADERS.additive.source);
    const result = run(broken, FULL);
    expect(result.races.some((r) => /kv_tile|p_tile/.test(r.message))).toBe(true);
  });
});
