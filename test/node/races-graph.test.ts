/**
 * Races in graph attention's passes (shaders/graph.wgsl), found by running one workgroup on the CPU
 * with wgsl_reflect's detectRaces. The kernels hold no workgroup memory and no barrier: each
 * invocation writes its own elements, and a pass reads only what an earlier dispatch wrote. So the
 * check is that no two invocations of a workgroup touch one element; copies that write a shared
 * element (the node's instead of the invocation's) must report a race, so this test can fail. The
 * kernel is specialised by rewriting its overrides as consts. Values computed by the CPU executor
 * are not used.
 */
import { describe, expect, it } from 'vitest';
import { detectRaces } from 'wgsl_reflect/wgsl_reflect.module.js';
import { shaderLayout } from '../../src/gpu/shader-layout';
import { packUniforms } from '../../src/gpu/uniforms';
import { SHADERS } from '../../src/shaders';
import { specialise } from '../helpers/specialise';

// 2 heads of 3 features over 3 nodes: one workgroup of 8 invocations covers every (node, head)
// and, for graph_aggregate, 8 of the 18 (node, column) pairs.
const CONSTS: Record<string, string> = {
  HEADS: '2u',
  FEATURES: '3u',
  WORKGROUP_SIZE: '8u',
  CONCAT: 'true',
  HAS_BIAS: 'true',
  RETURN_WEIGHTS: 'true',
};

function run(source: string, entry: string, consts = CONSTS) {
  const layout = shaderLayout(SHADERS.graph.source, entry);
  const [N, H, F, E] = [3, 2, 3, 9];
  const uniforms = packUniforms(layout.uniform!, {
    num_nodes: N,
    groups_x: 1,
    negative_slope: 0.2,
    minus_infinity: -Infinity,
    not_a_number: NaN,
    att_src_offset: 0,
    att_dst_offset: 0,
    bias_offset: 0,
  });
  const data = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i));
  const bindGroups = {
    0: {
      0: new Uint8Array(uniforms),
      1: data(N * H * F),
      2: data(H * F),
      3: data(H * F),
      4: Uint32Array.of(0, 5, 6, 9),
      5: Uint32Array.from({ length: E }, (_, e) => (e * 2) % N),
      6: Uint32Array.from({ length: E }, (_, e) => E - 1 - e),
      7: data(H * F),
      8: data(2 * N * H),
      9: data(E * H),
      10: new Float32Array(N * H * F),
      11: new Float32Array(E * H),
    },
  };
  return detectRaces(specialise(source, consts), entry, [1, 1, 1], bindGroups);
}

function broken(from: string, to: string): string {
  const source = SHADERS.graph.source.replace(from, to);
  expect(source).not.toEqual(SHADERS.graph.source);
  return source;
}

describe('detectRaces on graph.wgsl', () => {
  it('holds no workgroup memory and no barrier: the passes are ordered by their dispatches', () => {
    expect(SHADERS.graph.source).not.toMatch(/var<workgroup>|workgroupBarrier|storageBarrier/);
  });

  for (const entry of ['graph_scores', 'graph_softmax', 'graph_aggregate']) {
    it(`finds no race in ${entry}`, () => {
      const result = run(SHADERS.graph.source, entry);
      expect(result.errors).toEqual([]);
      expect(result.races.map((r) => r.message)).toEqual([]);
    });
  }

  it('finds no race in graph_aggregate averaging the heads', () => {
    const result = run(SHADERS.graph.source, 'graph_aggregate', { ...CONSTS, CONCAT: 'false' });
    expect(result.errors).toEqual([]);
    expect(result.races.map((r) => r.message)).toEqual([]);
  });

  it('finds the race in a copy of graph_aggregate that writes the node’s element, not the invocation’s', () => {
    const result = run(broken('out[flat] = value;', 'out[node] = value;'), 'graph_aggregate');
    expect(result.races.some((r) => r.message.includes('out'))).toBe(true);
  });

  it('finds the race in a copy of graph_softmax that writes α by slot only, not by slot and head', () => {
    const result = run(broken('alpha[e * HEADS + k] = ', 'alpha[e] = '), 'graph_softmax');
    expect(result.races.some((r) => r.message.includes('alpha'))).toBe(true);
  });
});
