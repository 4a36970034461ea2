/**
 * Barrier races in the flash kernel, found by running one workgroup on the CPU with
 * wgsl_reflect's detectRaces. The kernel is specialised by rewriting its overrides as consts
 * (detectRaces cannot size workgroup arrays by an override). A copy with one barrier removed
 * must report a race, so this test can fail. Values computed by the CPU executor are not used.
 */
import { describe, expect, it } from 'vitest';
import { detectRaces } from 'wgsl_reflect/wgsl_reflect.module.js';
import { shaderLayout } from '../../src/gpu/shader-layout';
import { packUniforms } from '../../src/gpu/uniforms';
import { SHADERS } from '../../src/shaders';
import { specialise } from '../helpers/specialise';

const CONSTS: Record<string, string> = {
  BLOCK_Q: '8u',
  TILE_KV: '4u',
  HEAD_DIM_VEC4: '2u',
  VALUE_DIM_VEC4: '2u',
  KV_STRIDE: '3u',
  WORKGROUP_SIZE: '4u',
  PV_ROWS: '4u',
  PV_COLS: '1u',
  IS_CAUSAL: 'true',
  HAS_MASK: 'false',
  MASK_IS_BOOL: 'false',
  HAS_SOFTCAP: 'false',
  WRITE_LSE: 'true',
  HAS_WINDOW: 'false',
  HAS_GLOBAL: 'false',
  HAS_KEY_PADDING: 'false',
  WRITE_PARTIAL: 'false',
  HAS_ALIBI: 'false',
  HAS_SINKS: 'false',
  Q_F16: 'false',
  K_F16: 'false',
  V_F16: 'false',
  MASK_F16: 'false',
  PAGED: 'false',
  IS_SIGMOID: 'false',
  ONE_ROW: 'false',
  HAS_BLOCK_MASK: 'false',
  QK_BLOCK: '4u',
  QK_PAIRS: 'false',
};

/** 8 queries, 16 keys, window 0/0, key 13 global: tiles 0–1 hold the band, 2 is skipped, 3 holds the global key. */
const WINDOWED = { ...CONSTS, IS_CAUSAL: 'false', HAS_WINDOW: 'true', HAS_GLOBAL: 'true' };

function run(
  source: string,
  consts = CONSTS,
  paged = false,
  entry = 'sdpa_forward',
  blocks = { q_blocks: 1, block_groups: 1 },
) {
  const layout = shaderLayout(SHADERS.sdpa.source, entry);
  const [L, Lk, D] = [8 * blocks.q_blocks, 16, 8]; // blocks of 8 rows (CONSTS' BLOCK_Q)
  const tileKv = Number.parseInt(consts.TILE_KV, 10);
  const uniforms = packUniforms(layout.uniform!, {
    batch: 1,
    q_heads: 1,
    kv_group: 1,
    q_len: L,
    kv_len: Lk,
    head_dim: D,
    value_dim: D,
    group_rows: L,
    ...blocks,
    kv_splits: 1,
    tiles_per_split: Lk / tileKv,
    head_dim_vec4: 2,
    tile_kv: tileKv,
    groups_x: 1,
    causal_offset: 0,
    score_scale: 0.5,
    softcap: 0,
    minus_infinity: -Infinity,
    window_left: 0,
    window_right: 0,
    dilation: 1,
    sink_tokens: 0,
    alibi_at: 0,
    sinks_at: 0,
    lse_offset: 0,
    // Paged: pages of 4 keys, the table [3, 2, 1, 0] from word 1 of the tables (word 0: global bits).
    page_size: 4,
    page_table_at: 1,
    sigmoid_bias: -1,
    top_k: 3,
    // Block mask: blocks of 4 × 4 (2 × 4 of them), bits from word 5; tile bits (one word per row block) from word 6.
    bm_at: 5,
    bm_stride_b: 0,
    bm_stride_h: 0,
    bm_k_blocks: 4,
    bm_block_q: 4,
    bm_block_k: 4,
    tile_bits_at: 6,
    tile_words: 1,
    q_offset: 0,
    q_stride_b: L * D,
    q_stride_h: L * D,
    q_stride_s: D,
    k_offset: 0,
    k_stride_b: paged ? 4 * D : Lk * D,
    k_stride_h: Lk * D,
    k_stride_s: D,
    v_offset: 0,
    v_stride_b: paged ? 4 * D : Lk * D,
    v_stride_h: Lk * D,
    v_stride_s: D,
    o_offset: 0,
    o_stride_b: L * D,
    o_stride_h: L * D,
    o_stride_s: D,
    m_offset: 0,
    m_stride_b: 0,
    m_stride_h: 0,
    m_stride_q: 0,
    m_stride_k: 0,
    kp_offset: 0,
    kp_stride_b: 0,
  });
  const data = (rows: number) => Float32Array.from({ length: rows * D }, (_, i) => Math.sin(i));
  const bindGroups = {
    0: {
      0: new Uint8Array(uniforms),
      1: data(L),
      2: data(Lk),
      3: data(Lk),
      4: new Uint32Array(4),
      // Global bits, the page table, the block bits (blocks (0,0), (0,2), (1,1), (1,3) on), the tile
      // bits of row blocks 0 and 1 (the executor reads them even where HAS_BLOCK_MASK is false).
      5: new Uint32Array([1 << 13, 3, 2, 1, 0, 0b1010_0101, 0b1111, 0b1111]),
      6: new Uint32Array(4),
      7: new Float32Array(L * D),
      8: new Float32Array(L),
    },
  };
  return detectRaces(specialise(source, consts), entry, [1, 1, 1], bindGroups);
}

/** QK_PAIRS: 8 rows × 8 keys, one 8 × 8 block for the 2 invocations (PV_ROWS 8 × 2 column vec4s). */
const IN_PAIRS = { ...CONSTS, TILE_KV: '8u', PV_ROWS: '8u', WORKGROUP_SIZE: '2u', QK_BLOCK: '8u', QK_PAIRS: 'true' };

/** f16 q, k and v (halves two to a word; D = 8 keeps every row in whole words). */
const HALVES = { ...CONSTS, Q_F16: 'true', K_F16: 'true', V_F16: 'true' };

describe('detectRaces on sdpa_forward', () => {
  it('finds no race in the flash kernel (causal, 2 key tiles of 4 run, 4 invocations)', () => {
    const result = run(SHADERS.sdpa.source);
    expect(result.errors).toEqual([]);
    expect(result.races.map((r) => r.message)).toEqual([]);
  });

  it('finds no race with 8 rows per invocation in P·V (2 invocations)', () => {
    const result = run(SHADERS.sdpa.source, { ...CONSTS, PV_ROWS: '8u', WORKGROUP_SIZE: '2u' });
    expect(result.errors).toEqual([]);
    expect(result.races.map((r) => r.message)).toEqual([]);
  });

  it('finds no race with 16 rows per invocation in P·V (a block of 16 rows, 8 of them real; 2 invocations)', () => {
    const result = run(SHADERS.sdpa.source, { ...CONSTS, BLOCK_Q: '16u', PV_ROWS: '16u', WORKGROUP_SIZE: '2u' });
    expect(result.errors).toEqual([]);
    expect(result.races.map((r) => r.message)).toEqual([]);
  });

  it('finds no race with 8 rows × 2 column vec4s per invocation in P·V (a block of 16 rows, 2 invocations)', () => {
    const result = run(SHADERS.sdpa.source, {
      ...CONSTS,
      BLOCK_Q: '16u',
      PV_ROWS: '8u',
      PV_COLS: '2u',
      WORKGROUP_SIZE: '2u',
    });
    expect(result.errors).toEqual([]);
    expect(result.races.map((r) => r.message)).toEqual([]);
  });

  it('finds no race with Q·Kᵀ in an 8 × 8 block shared by two invocations (tiles of 8 keys)', () => {
    const result = run(SHADERS.sdpa.source, IN_PAIRS);
    expect(result.errors).toEqual([]);
    expect(result.races.map((r) => r.message)).toEqual([]);
  });

  it('finds no race with Q·Kᵀ in whole 8 × 8 blocks (16 rows, tiles of 8 keys, one block per invocation)', () => {
    const consts = { ...CONSTS, BLOCK_Q: '16u', TILE_KV: '8u', PV_ROWS: '16u', WORKGROUP_SIZE: '2u', QK_BLOCK: '8u' };
    const result = run(SHADERS.sdpa.source, consts);
    expect(result.errors).toEqual([]);
    expect(result.races.map((r) => r.message)).toEqual([]);
  });

  it('finds no race when a workgroup runs two blocks in turn (paired blocks of 8 rows, causal)', () => {
    const result = run(SHADERS.sdpa.source, CONSTS, false, 'sdpa_forward', { q_blocks: 2, block_groups: 1 });
    expect(result.errors).toEqual([]);
    expect(result.races.map((r) => r.message)).toEqual([]);
  });

  it('finds no race with a sliding window and a global token (skipped tiles, 4 invocations)', () => {
    const result = run(SHADERS.sdpa.source, WINDOWED);
    expect(result.errors).toEqual([]);
    expect(result.races.map((r) => r.message)).toEqual([]);
  });

  it('finds no race with f16 q, k and v', () => {
    const result = run(SHADERS.sdpa.source, HALVES);
    expect(result.errors).toEqual([]);
    expect(result.races.map((r) => r.message)).toEqual([]);
  });

  it('finds no race reading k and v through a page table', () => {
    const result = run(SHADERS.sdpa.source, { ...CONSTS, PAGED: 'true' }, true);
    expect(result.errors).toEqual([]);
    expect(result.races.map((r) => r.message)).toEqual([]);
  });

  it('finds no race with sigmoid weights and a block mask', () => {
    const result = run(SHADERS.sdpa.source, { ...CONSTS, IS_SIGMOID: 'true', HAS_BLOCK_MASK: 'true' });
    expect(result.errors).toEqual([]);
    expect(result.races.map((r) => r.message)).toEqual([]);
  });

  // The plan runs ONE_ROW with BLOCK_Q = 4, which wgsl_reflect's detector cannot run (it fails on the
  // one-element row arrays); the path's accesses are the same with BLOCK_Q = 8.
  it('finds no race in the one-row path (keys in the lanes)', () => {
    const result = run(SHADERS.sdpa.source, { ...CONSTS, ONE_ROW: 'true' });
    expect(result.errors).toEqual([]);
    expect(result.races.map((r) => r.message)).toEqual([]);
  });

  it('finds no race in the top-k entry (2 invocations of 4 rows, lists of 3)', () => {
    const result = run(SHADERS.sdpa.source, { ...CONSTS, WORKGROUP_SIZE: '2u' }, false, 'sdpa_topk');
    expect(result.errors).toEqual([]);
    expect(result.races.map((r) => r.message)).toEqual([]);
  });

  it('finds the race in a copy without the barrier between loading K and reading it', () => {
    const broken = SHADERS.sdpa.source.replace(/(load_k_tile\(t, key_start, tid\);\s*)workgroupBarrier\(\);/, '$1');
    expect(broken).not.toEqual(SHADERS.sdpa.source);
    const result = run(broken);
    expect(result.races.length).toBeGreaterThan(0);
    expect(result.races.some((r) => r.message.includes('kv_tile'))).toBe(true);
  });

  it('finds the race in a copy without the barrier between the pairs handing over partial logits and reading them', () => {
    const broken = SHADERS.sdpa.source.replace(
      /(p_tile\[\(kb \+ 7u \* kb8\) \* row_blocks \+ given\][^;]*;\s*)workgroupBarrier\(\);/,
      '$1',
    );
    expect(broken).not.toEqual(SHADERS.sdpa.source);
    const result = run(broken, IN_PAIRS);
    expect(result.races.some((r) => r.message.includes('p_tile'))).toBe(true);
  });
});
