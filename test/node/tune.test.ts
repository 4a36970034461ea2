/**
 * `attn.tune()` and `createAttention({ tuning })`: tuning times the candidate tilings of each shape's
 * class and keeps a winner among them; a tuned context still computes the reference's answer (for
 * the tuned class and for others); a tuning given back to a new context is used; bad shapes and bad
 * tunings are AttentionErrors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttention, reference, type AttentionContext } from '../../src/index';
import { planSdpa, TILE_PREFERENCES } from '../../src/ops/sdpa/plan';
import { shapeClass, tunedTile, type LinearTuningEntry, type SdpaTuningEntry } from '../../src/ops/sdpa/tuning';
import { planMatmul } from '../../src/ops/linear/plan';
import { isLinearTile, linearTuneCandidates, tunedLinearTile } from '../../src/ops/linear/plan-tuning';
import { compareArrays } from '../helpers/compare';
import { nodeGpu } from '../helpers/node-gpu';

let attn: AttentionContext;
beforeAll(async () => {
  attn = await createAttention({ gpu: await nodeGpu() });
});
afterAll(() => attn?.destroy());

const host = (shape: number[], seed: number) => ({
  data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.31 + seed)),
  shape,
});

describe('attn.tune', () => {
  it('keeps, per class, the fastest of the candidates, and the tuned context still gives the reference', async () => {
    const shapes = [
      { Hq: 2, Lq: 40, Lk: 40, D: 16 },
      { Hq: 4, Hkv: 2, Lq: 1, Lk: 300, D: 8, causal: true },
    ];
    const tuning = await attn.tune(shapes, { runs: 1 });
    expect(tuning.version).toBe(1);
    expect(tuning.entries.map((e) => e.shapeClass)).toEqual(['D16xDv16 prefill', 'D8xDv8 decode causal']);
    for (const e of tuning.entries as SdpaTuningEntry[]) {
      expect(TILE_PREFERENCES.some((t) => t.blockQ === e.tile.blockQ && t.tileKv === e.tile.tileKv)).toBe(true);
      expect(e.ms).toBeLessThanOrEqual(e.defaultMs);
    }
    JSON.parse(JSON.stringify(tuning)); // JSON-safe
    const dims = { B: 1, Hq: 4, Hkv: 2, Lq: 1, Lk: 777, D: 8, Dv: 8 };
    expect(tunedTile(attn.runtime, dims, true)).toEqual(tuning.entries[1].tile);
    const [q, k, v] = [host([1, 4, 1, 8], 1), host([1, 2, 777, 8], 2), host([1, 2, 777, 8], 3)];
    const [qT, kT, vT] = [q, k, v].map((t) => attn.tensor(t.data, t.shape));
    const o = attn.sdpa(qT, kT, vT, { causal: true, alignment: 'lower-right' });
    const r = compareArrays(await o.read(), reference.sdpa(q, k, v, { causal: true, alignment: 'lower-right' }).data);
    expect(r.ok, r.message).toBe(true);
    [qT, kT, vT, o].forEach((t) => t.destroy());
  });

  it('a tuning given back to createAttention is used by the new context', async () => {
    const dims = { B: 1, Hq: 2, Hkv: 2, Lq: 64, Lk: 64, D: 16, Dv: 16 };
    const tile = { blockQ: 16, tileKv: 8 };
    expect(planSdpa(dims, attn.device.limits).tile).not.toEqual(tile);
    const tuning = {
      version: 1 as const,
      adapter: 'test',
      entries: [{ shapeClass: shapeClass(dims, false), tile, ms: 1, defaultMs: 2 }],
    };
    const other = await createAttention({ gpu: await nodeGpu(), tuning });
    try {
      expect(tunedTile(other.runtime, dims, false)).toEqual(tile);
      const [q, k, v] = [host([1, 2, 64, 16], 4), host([1, 2, 64, 16], 5), host([1, 2, 64, 16], 6)];
      const [qT, kT, vT] = [q, k, v].map((t) => other.tensor(t.data, t.shape));
      const o = other.sdpa(qT, kT, vT);
      expect(compareArrays(await o.read(), reference.sdpa(q, k, v).data).ok).toBe(true);
    } finally {
      other.destroy();
    }
  });

  it('refuses bad shapes, runs and tunings', async () => {
    await expect(attn.tune([{ Lq: 0, Lk: 4, D: 8 }])).rejects.toThrow(/shapes\[0\]/);
    await expect(attn.tune([])).rejects.toThrow(/shapes/);
    await expect(attn.tune([{ Lq: 4, Lk: 4, D: 8 }], { runs: 0 })).rejects.toThrow(/options.runs/);
    const bad = {
      version: 1,
      adapter: 'x',
      entries: [{ shapeClass: 'D8xDv8 prefill', tile: { blockQ: 3, tileKv: 8 } }],
    };
    await expect(createAttention({ gpu: await nodeGpu(), tuning: bad as never })).rejects.toThrow(/options.tuning/);
  });
});

describe('attn.tune for the GEMM (linear.wgsl)', () => {
  it('keeps, per row class, the fastest GEMM tiling among the candidates, and attn.linear then uses it', async () => {
    const tuning = await attn.tune(
      [
        { M: 3, N: 40, K: 24 },
        { M: 70, N: 36, K: 20 },
      ],
      { runs: 1 },
    );
    expect(tuning.entries.map((e) => e.shapeClass)).toEqual(['linear M<=4', 'linear M>16']);
    const [short, long] = tuning.entries as LinearTuningEntry[];
    expect(linearTuneCandidates(3, attn.device.limits)).toContainEqual(short.tile);
    expect(linearTuneCandidates(70, attn.device.limits)).toContainEqual(long.tile);
    for (const e of [short, long]) expect(e.ms).toBeLessThanOrEqual(e.defaultMs);
    const back = JSON.parse(JSON.stringify(tuning)) as typeof tuning;
    expect(back).toEqual(tuning);
    expect(tunedLinearTile(attn.runtime, 2)).toEqual(short.tile);
    expect(tunedLinearTile(attn.runtime, 1000)).toEqual(long.tile);
    const x = host([2, 50, 20], 7);
    const w = host([36, 20], 8);
    const [xT, wT] = [attn.tensor(x.data, x.shape), attn.tensor(w.data, w.shape)];
    const y = attn.linear(xT, wT);
    const r = compareArrays(await y.read(), reference.linear(x, w).data);
    expect(r.ok, r.message).toBe(true);
    [xT, wT, y].forEach((t) => t.destroy());
  });

  it('a GEMM tuning given back to createAttention is used by attn.linear and a layer', async () => {
    const tile = { tileM: 16, tileN: 64, tileK: 32, rowBlocks: 1, colBlocks: 1 } as const;
    expect(isLinearTile(tile)).toBe(true);
    expect(planMatmul({ M: 40, N: 40, K: 40 }, attn.device.limits).tile).not.toEqual(tile);
    const tuning = {
      version: 1 as const,
      adapter: 'test',
      entries: [{ shapeClass: 'linear M>16', tile, ms: 1, defaultMs: 2 }],
    };
    const other = await createAttention({ gpu: await nodeGpu(), tuning });
    // Which GEMM tilings the context compiles: the tuned one (TILE_M = 16, 1 × 1 blocks) for M = 40 and M = 20.
    const compiled: string[] = [];
    const get = other.runtime.pipelines.get.bind(other.runtime.pipelines);
    other.runtime.pipelines.get = (shader, entry, overrides) => {
      if (entry === 'linear_matmul')
        compiled.push(`${overrides.TILE_M}x${overrides.TILE_N}/${overrides.ROW_BLOCKS}x${overrides.COL_BLOCKS}`);
      return get(shader, entry, overrides);
    };
    try {
      expect(tunedLinearTile(other.runtime, 40)).toEqual(tile);
      const [x, w] = [host([40, 24], 9), host([40, 24], 10)];
      const y = other.linear(other.tensor(x.data, x.shape), other.tensor(w.data, w.shape));
      expect(compareArrays(await y.read(), reference.linear(x, w).data).ok).toBe(true);
      expect(compiled).toEqual(['16x64/1x1']);
      const [E, H] = [24, 2];
      const weights = { inProj: host([3 * E, E], 11), outProj: host([E, E], 12) };
      const onDevice = {
        inProj: other.tensor(weights.inProj.data, weights.inProj.shape),
        outProj: other.tensor(weights.outProj.data, weights.outProj.shape),
      };
      const layer = other.multiHeadAttention({ embedDim: E, numHeads: H, weights: onDevice });
      const xl = host([1, 20, E], 13);
      const o = layer.forward(other.tensor(xl.data, xl.shape));
      const expected = reference.multiHeadAttention({ embedDim: E, numHeads: H, weights }).forward(xl);
      expect(compareArrays(await o.read(), expected.data).ok).toBe(true);
      expect(new Set(compiled)).toEqual(new Set(['16x64/1x1']));
    } finally {
      other.destroy();
    }
  });

  it('refuses bad GEMM shapes and GEMM entries naming the argument', async () => {
    await expect(attn.tune([{ M: 0, N: 4, K: 4 }])).rejects.toThrow(/shapes\[0\].*M, N, K/);
    await expect(
      attn.tune([
        { Lq: 4, Lk: 4, D: 8 },
        { M: 4, N: 2.5, K: 4 },
      ]),
    ).rejects.toThrow(/shapes\[1\]/);
    const entry = (shapeClass: string, tile: object) => ({
      version: 1,
      adapter: 'x',
      entries: [{ shapeClass, tile, ms: 1, defaultMs: 1 }],
    });
    const good = { tileM: 64, tileN: 64, tileK: 32, rowBlocks: 2, colBlocks: 2 };
    for (const bad of [
      entry('linear M>16', { ...good, rowBlocks: 3 }),
      entry('linear M>16', { tileM: 64, tileN: 64, tileK: 32 }),
      entry('linear M<=3', good),
      entry('linear M>16', { blockQ: 16, tileKv: 8 }),
    ]) {
      await expect(createAttention({ gpu: await nodeGpu(), tuning: bad as never })).rejects.toThrow(
        /options.tuning.*GEMM tilings/,
      );
    }
  });
});
