/** Plans of the graph family: the CSR build of a graph and the dispatches of graph attention, pure, without a GPU. */
import { describe, expect, it } from 'vitest';
import { SWIFTSHADER, WEBGPU_MINIMUM } from '../../helpers/limits';
import { AttentionError } from '../../../src/index';
import { graphEdges } from '../../../src/contract/graph';
import { buildCsr, GRAPH_WORKGROUP_SIZE, planGraphAttention } from '../../../src/ops/graph/plan';

describe('buildCsr', () => {
  it('groups the edges by target, keeping their order within a target, with each slot’s edge id', () => {
    // edges: 0 → 1, 2 → 0, 0 → 1 (repeated), 3 → 3, 1 → 0; node 2 has no incoming edge.
    const csr = buildCsr(Int32Array.of(0, 2, 0, 3, 1), Int32Array.of(1, 0, 1, 3, 0), 4);
    expect([...csr.rowPtr]).toEqual([0, 2, 4, 4, 5]);
    expect([...csr.sources]).toEqual([2, 1, 0, 0, 3]);
    expect([...csr.edgeIds]).toEqual([1, 4, 0, 2, 3]);
  });

  it('is empty for a graph with no edge', () => {
    const csr = buildCsr(new Int32Array(0), new Int32Array(0), 3);
    expect([...csr.rowPtr]).toEqual([0, 0, 0, 0]);
    expect(csr.sources.length + csr.edgeIds.length).toBe(0);
  });

  it('puts the appended self-loops last in each target’s slots, and handles a node of high degree', () => {
    const N = 50;
    const pairs = Array.from({ length: 3000 }, (_, e) => [(e * 13) % N, e % 7 === 0 ? e % N : 5]);
    const data = Int32Array.from([...pairs.map((p) => p[0]), ...pairs.map((p) => p[1])]);
    const edges = graphEdges({ data, shape: [2, pairs.length] }, N);
    const csr = buildCsr(edges.sources, edges.targets, N);
    const E = edges.sources.length;
    expect(csr.rowPtr[N]).toBe(E);
    for (let i = 0; i < N; i++) {
      const slots = [...csr.edgeIds.subarray(csr.rowPtr[i], csr.rowPtr[i + 1])];
      expect(slots, `node ${i}'s slots in edge order`).toEqual([...slots].sort((a, b) => a - b));
      expect(slots.every((e) => edges.targets[e] === i)).toBe(true);
      expect(slots.at(-1), `node ${i}'s loop last`).toBe(E - N + i);
      slots.forEach((e, k) => expect(csr.sources[csr.rowPtr[i] + k]).toBe(edges.sources[e]));
    }
    expect(csr.rowPtr[6] - csr.rowPtr[5]).toBeGreaterThan(2500);
  });
});

describe('planGraphAttention', () => {
  const dims = { N: 77, Fin: 24, H: 3, F: 5, E: 400 };

  it('gives one invocation per (node, head) and per (node, output column), 64 to a workgroup', () => {
    const plan = planGraphAttention(dims, SWIFTSHADER, true, true);
    expect(plan.workgroupSize).toBe(GRAPH_WORKGROUP_SIZE);
    expect(plan.perHead).toEqual([Math.ceil((77 * 3) / 64), 1, 1]);
    expect(plan.perColumn).toEqual([Math.ceil((77 * 15) / 64), 1, 1]);
    expect(plan.outWidth).toBe(15);
    expect(plan.project.tiles).toBeGreaterThan(0);
    const mean = planGraphAttention(dims, SWIFTSHADER, false, false);
    expect(mean.outWidth).toBe(5);
    expect(mean.perColumn).toEqual([Math.ceil((77 * 5) / 64), 1, 1]);
  });

  it('runs any number of heads and features: no workgroup memory', () => {
    const plan = planGraphAttention({ ...dims, H: 64, F: 600 }, WEBGPU_MINIMUM, true, false);
    expect(plan.outWidth).toBe(64 * 600);
  });

  it('folds a grid of more invocations than one dimension of workgroups holds', () => {
    const plan = planGraphAttention({ ...dims, N: 2_000_000, Fin: 4, H: 2, F: 4 }, SWIFTSHADER, true, false);
    expect(plan.perColumn).toEqual([62_500, 4, 1]);
    expect(plan.perHead[1]).toBe(1);
  });

  it('refuses weights or α past one binding, naming what is too large', () => {
    const small = { ...SWIFTSHADER, maxStorageBufferBindingSize: 4096 };
    expect(() => planGraphAttention({ ...dims, N: 10, Fin: 4, E: 2000, H: 1, F: 1 }, small, true, false)).toThrow(
      /graph:/,
    );
    expect(() => planGraphAttention({ ...dims, N: 10, Fin: 4, E: 400, H: 2, F: 1 }, small, true, true)).not.toThrow();
    expect(() => planGraphAttention({ ...dims, N: 2000, Fin: 4, H: 1, F: 1 }, small, true, false)).toThrow(
      AttentionError,
    );
  });
});
