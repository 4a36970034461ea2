/**
 * Barrier races in the kernels for long inputs (linear_attention_state, linear_attention_output,
 * linformer_project), found by running one workgroup on the CPU with wgsl_reflect's detectRaces.
 * The kernels are specialised by rewriting their overrides as consts (detectRaces cannot size
 * workgroup arrays by an override). Copies with one barrier removed must report a race, so this
 * test can fail. Values computed by the CPU executor are not used.
 */
import { describe, expect, it } from 'vitest';
import { detectRaces } from 'wgsl_reflect/wgsl_reflect.module.js';
import { shaderLayout } from '../../src/gpu/shader-layout';
import { packUniforms } from '../../src/gpu/uniforms';
import { SHADERS } from '../../src/shaders';
import { specialise } from '../helpers/specialise';

// D = 7 in 2 vec4s, Dv = 6 in one tile of 2 vec4s, chunks of 4 rows: L = 10 runs 3 chunks (the last
// partial) on 8 invocations, so every phase has items on several invocations and some on one twice.
const LINEAR_CONSTS: Record<string, string> = {
  HEAD_DIM_VEC4: '2u',
  VALUE_TILE_VEC4: '2u',
  CHUNK: '4u',
  WORKGROUP_SIZE: '8u',
  FEATURE_RELU: 'false',
  IS_CAUSAL: 'true',
  Q_F16: 'false',
  K_F16: 'false',
  V_F16: 'false',
};
const [L, D, Dv] = [10, 7, 6];
const data = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i));

function runLinear(source: string, entry: string, causal: boolean) {
  const layout = shaderLayout(SHADERS.linearAttention.source, entry);
  const uniforms = packUniforms(layout.uniform!, {
    ...{ q_heads: 1, kv_heads: 1, q_len: L, kv_len: L, head_dim: D, value_dim: Dv, dv_tiles: 1 },
    ...{ segments: 1, segment_chunks: 3, workgroups: 1, groups_x: 1, q_offset: 0, k_offset: 0, v_offset: 0 },
    // Not causal, the output pass sums two partial states first.
    ...{ kv_segments: causal ? 0 : 2, z_at: 2 * D * Dv, eps: 1e-6 },
  });
  const bindGroups = {
    0: {
      0: new Uint8Array(uniforms),
      1: data(L * D),
      2: data(L * D),
      3: data(L * Dv),
      4: data(2 * D * (Dv + 1)),
      5: new Float32Array(2 * D * (Dv + 1)),
      6: new Float32Array(L * Dv),
    },
  };
  const consts = { ...LINEAR_CONSTS, IS_CAUSAL: String(causal) };
  return detectRaces(specialise(source, consts), entry, [1, 1, 1], bindGroups);
}

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

describe('detectRaces on linear-attention.wgsl', () => {
  const source = SHADERS.linearAttention.source;

  it('finds no race in the causal output pass (3 chunks: load, scores, outputs, state update)', () => {
    expectNoRace(runLinear(source, 'linear_attention_output', true));
  });
  it('finds no race in the non-causal output pass (partials summed first)', () => {
    expectNoRace(runLinear(source, 'linear_attention_output', false));
  });
  it('finds no race in the state pass', () => {
    expectNoRace(runLinear(source, 'linear_attention_state', false));
  });

  it('finds the race in a copy without the barrier between the outputs and the state update', () => {
    const broken = without(source, /(write_outputs\(w, chunk \* CHUNK, tid\);\n)    workgroupBarrier\(\);\n/, '$1');
    expectRace(runLinear(broken, 'linear_attention_output', true), /state|zsum/);
  });
  it('finds the race in a copy without the barrier between loading a chunk and its scores', () => {
    const broken = without(
      source,
      /(if \(IS_CAUSAL\) \{ load_phi_k_v\(w, chunk \* CHUNK, tid\); \}\n)    workgroupBarrier\(\);\n/,
      '$1',
    );
    expectRace(runLinear(broken, 'linear_attention_output', true), /phi_q|phi_k/);
  });
  it('finds the race in a copy without the barrier before the next chunk overwrites the tiles', () => {
    const broken = without(source, /(if \(IS_CAUSAL\) \{ update_state\(tid\); \}\n)    workgroupBarrier\(\);\n/, '$1');
    expectRace(runLinear(broken, 'linear_attention_output', true), /phi_q|phi_k|v_tile|state/);
  });
  it('finds the race in a state pass without the barrier after adding a chunk (the next load, the partials)', () => {
    const broken = without(source, /(    update_state\(tid\);\n)    workgroupBarrier\(\);\n  \}\n/, '$1  }\n');
    expectRace(runLinear(broken, 'linear_attention_state', false), /phi_k|v_tile|state|zsum/);
  });
  it('finds the race in a state pass without the barrier between loading a chunk and adding it', () => {
    const broken = without(
      source,
      /(load_phi_k_v\(w, chunk \* CHUNK, tid\);\n)    workgroupBarrier\(\);\n    update_state/,
      '$1    update_state',
    );
    expectRace(runLinear(broken, 'linear_attention_state', false), /phi_k|v_tile/);
  });
});

// 8 rows × 2 vec4s of out (D = 7), steps of 4 positions over L = 10: 3 steps, 4 invocations.
const PROJECT_CONSTS = {
  TILE_P: '8u',
  TILE_J: '4u',
  TILE_D_VEC4: '2u',
  WORKGROUP_SIZE: '4u',
  X_F16: 'false',
  P_F16: 'false',
};

function runProject(source: string) {
  const layout = shaderLayout(SHADERS.linformer.source, 'linformer_project');
  const r = 5;
  const uniforms = packUniforms(layout.uniform!, {
    ...{ heads: 1, rank: r, length: L, dim: D, p_tiles: 1, d_tiles: 1, workgroups: 1, groups_x: 1 },
    ...{ x_offset: 0, x_stride_b: L * D, x_stride_h: L * D, x_stride_s: D, p_offset: 0 },
  });
  const bindGroups = { 0: { 0: new Uint8Array(uniforms), 1: data(L * D), 2: data(r * L), 3: new Float32Array(r * D) } };
  return detectRaces(specialise(source, PROJECT_CONSTS), 'linformer_project', [1, 1, 1], bindGroups);
}

describe('detectRaces on linformer.wgsl', () => {
  const source = SHADERS.linformer.source;
  it('finds no race (3 steps, 4 invocations)', () => {
    expectNoRace(runProject(source));
  });
  it('finds the race in a copy without the barrier between loading the tiles and reading them', () => {
    expectRace(
      runProject(without(source, /(load_tiles\(bh, p0, d0, j0, tid\);\s*)workgroupBarrier\(\);/, '$1')),
      /p_tile|x_tile/,
    );
  });
  it('finds the race in a copy without the barrier before the next step overwrites the tiles', () => {
    expectRace(runProject(without(source, /(\n    \}\n)    workgroupBarrier\(\);\n  \}/, '$1  }')), /p_tile|x_tile/);
  });
});
