/**
 * `attn.tune()` and `createAttention({ tuning })`: tuning times the candidate tilings of each shape's
 * class and keeps a winner among them; a tuned context still computes the reference's answer (for
 * the tuned class and for others); a tuning given back to a new context is used; bad shapes and bad
 * tunings are AttentionErrors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttention, reference, type AttentionContext } from '../../src/index';
import { planSdpa, TILE_PREFERENCES } from '../../src/ops/sdpa/plan';
import { shapeClass, tunedTile } from '../../src/ops/sdpa/tuning';
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
    for (const e of tuning.entries) {
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
