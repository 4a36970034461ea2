/**
 * Barrier races in the GEMM kernel, found by running one workgroup on the CPU with wgsl_reflect's
 * detectRaces. The kernel is specialised by rewriting its overrides as consts (detectRaces cannot
 * size workgroup arrays by an override). Copies with a barrier removed must report a race, so this
 * test can fail. Values computed by the CPU executor are not used.
 */
import { describe, expect, it } from 'vitest';
import { detectRaces } from 'wgsl_reflect/wgsl_reflect.module.js';
import { shaderLayout } from '../../src/gpu/shader-layout';
import { packUniforms } from '../../src/gpu/uniforms';
import { SHADERS } from '../../src/shaders';
import { specialise } from '../helpers/specialise';

// 16 × 16 tiles, 4-wide K steps, 2 × 2 blocks of 4 × 4 per invocation (the plan's prefill
// blocking): 4 invocations, each loading 4 rows of X and 4 of W per step and writing 8 × 8 outputs.
const CONSTS: Record<string, string> = {
  TILE_M: '16u',
  TILE_N: '16u',
  TILE_K: '4u',
  K_STRIDE: '2u',
  WORKGROUP_SIZE: '4u',
  ROW_BLOCKS: '2u',
  COL_BLOCKS: '2u',
  HAS_BIAS: 'true',
  HAS_ROTARY: 'true',
  ROTARY_HALF_SPLIT: 'true',
  X_F16: 'false',
  W_F16: 'false',
  BIAS_F16: 'false',
  OUT_F16: 'false',
};

/** f16 inputs, and the output written as f16 pairs (one word per pair of columns, as into a KV cache's store). */
const HALVES = { ...CONSTS, X_F16: 'true', W_F16: 'true', BIAS_F16: 'true', OUT_F16: 'true' };

/** The other blockings the plan uses (8 × 8 tiles of 1 × 1 blocks, the short-M 1 × 2 and 2 × 1): 4 invocations each. */
const BLOCKINGS: Record<string, Record<string, string>> = {
  '1 × 1 blocks, 8 × 8 tile': { ...CONSTS, TILE_M: '8u', TILE_N: '8u', ROW_BLOCKS: '1u', COL_BLOCKS: '1u' },
  '1 × 2 blocks, 4 × 32 tile': { ...CONSTS, TILE_M: '4u', TILE_N: '32u', ROW_BLOCKS: '1u', COL_BLOCKS: '2u' },
  '2 × 1 blocks, 8 × 16 tile': { ...CONSTS, TILE_M: '8u', TILE_N: '16u', ROW_BLOCKS: '2u', COL_BLOCKS: '1u' },
};

function run(source: string, consts = CONSTS) {
  const layout = shaderLayout(SHADERS.linear.source, 'linear_matmul');
  const [M, N, K] = [16, 16, 12]; // three K steps
  const uniforms = packUniforms(layout.uniform!, {
    m: M,
    n: N,
    k: K,
    tiles_n: 1,
    tiles: 1,
    groups_x: 1,
    x_offset: 0,
    x_stride_m: K,
    w_offset: 0,
    bias_offset: 0,
    o_offset: 0,
    rows_per_batch: 4,
    head_dim: 4,
    o_stride_b: 4 * N,
    o_stride_l: N,
    o_stride_h: 4,
    rot_offset: 0,
    rot_positions: 4,
    rot_dim: 4,
    rot_col_begin: 0,
    rot_col_end: 16,
    position_offset: 0,
  });
  const data = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i));
  const bindGroups = {
    0: {
      0: new Uint8Array(uniforms),
      1: data(M * K),
      2: data(N * K),
      3: data(N),
      4: data(4 * 4),
      5: new Float32Array(M * N),
    },
  };
  return detectRaces(specialise(source, consts), 'linear_matmul', [1, 1, 1], bindGroups);
}

describe('detectRaces on linear_matmul', () => {
  it('finds no race (bias and rotary on, 3 K steps, 4 invocations)', () => {
    const result = run(SHADERS.linear.source);
    expect(result.errors).toEqual([]);
    expect(result.races.map((r) => r.message)).toEqual([]);
  });

  for (const [name, consts] of Object.entries(BLOCKINGS)) {
    it(`finds no race with ${name}`, () => {
      const result = run(SHADERS.linear.source, consts);
      expect(result.errors).toEqual([]);
      expect(result.races.map((r) => r.message)).toEqual([]);
    });
  }

  it('finds no race with f16 inputs and an f16 output (each word of a column pair written by one invocation)', () => {
    const result = run(SHADERS.linear.source, HALVES);
    expect(result.errors).toEqual([]);
    expect(result.races.map((r) => r.message)).toEqual([]);
  });

  it('finds the race in a copy whose f16 epilogue writes a word another invocation writes', () => {
    const broken = SHADERS.linear.source.replace(
      'for (var j = 0u; j < count; j += 2u) {\n        out[(base + col_at[j]) >> 1u]',
      'for (var j = 0u; j < count; j += 2u) {\n        out[(base + col_at[j]) >> 3u]',
    );
    expect(broken).not.toEqual(SHADERS.linear.source);
    const result = run(broken, HALVES);
    expect(result.races.length).toBeGreaterThan(0);
    expect(result.races.some((r) => r.message.includes('out'))).toBe(true);
  });

  it('finds the race in a copy without the barrier between loading the tiles and reading them', () => {
    const broken = SHADERS.linear.source.replace(
      /(load_tiles\(m_start, n_start, kt \* TILE_K, tid\);\s*)workgroupBarrier\(\);/,
      '$1',
    );
    expect(broken).not.toEqual(SHADERS.linear.source);
    const result = run(broken);
    expect(result.races.length).toBeGreaterThan(0);
    expect(result.races.some((r) => /x_tile|w_tile/.test(r.message))).toBe(true);
  });

  it('finds the race in a copy without the barrier before the next K step overwrites the tiles', () => {
    const broken = SHADERS.linear.source.replace(/(\n    \}\n)    workgroupBarrier\(\);\n  \}/, '$1  }');
    expect(broken).not.toEqual(SHADERS.linear.source);
    const result = run(broken);
    expect(result.races.length).toBeGreaterThan(0);
    expect(result.races.some((r) => /x_tile|w_tile/.test(r.message))).toBe(true);
  });
});
