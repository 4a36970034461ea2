/** Chunking of sdpa calls past one buffer binding (src/ops/sdpa/chunks.ts): pure, no device. */
import { describe, expect, it } from 'vitest';
import { AttentionError } from '../../../src/errors';
import { chunkElements, chunkFits, chunkStart, planChunks, type TensorSpan } from '../../../src/ops/sdpa/chunks';

const MiB = 2 ** 20;
const LIMIT = 128 * MiB;
// bhsd [B, H, L, D] f32: strides [H·L·D, L·D], one (b, h) slice L·D elements.
const bhsd = (H: number, L: number, D: number, perKvHead = 1): TensorSpan => ({
  strides: [H * L * D, L * D],
  perKvHead,
  slice: L * D,
  bytesPerElement: 4,
});

describe('planChunks', () => {
  it('keeps a call that fits in one chunk', () => {
    const k = bhsd(8, 1000, 64);
    expect(planChunks(2, 8, (c) => chunkFits([k], c, LIMIT, 256))).toEqual([{ b0: 0, batches: 2, g0: 0, kvHeads: 8 }]);
  });

  it('splits [1, 8, 36000, 128] f32 K/V (147 MB each) over kv heads: 18.4 MB a head, 4 heads a chunk', () => {
    const k = bhsd(8, 36000, 128);
    const chunks = planChunks(1, 8, (c) => chunkFits([k, k], c, LIMIT, 256));
    // Halving from 8 heads: 4 heads are 73.7 MB (+ slack) ≤ 128 MiB.
    expect(chunks).toEqual([
      { b0: 0, batches: 1, g0: 0, kvHeads: 4 },
      { b0: 0, batches: 1, g0: 4, kvHeads: 4 },
    ]);
    expect(chunkStart(k, chunks[1])).toBe(4 * 36000 * 128);
    expect(chunkElements(k, chunks[1])).toBe(4 * 36000 * 128);
  });

  it('splits over whole batches first, the last run shorter', () => {
    const k = bhsd(4, 30000, 128); // 61.4 MB a batch: 2 fit in 128 MiB
    expect(planChunks(5, 4, (c) => chunkFits([k], c, LIMIT, 256))).toEqual([
      { b0: 0, batches: 2, g0: 0, kvHeads: 4 },
      { b0: 2, batches: 2, g0: 0, kvHeads: 4 },
      { b0: 4, batches: 1, g0: 0, kvHeads: 4 },
    ]);
  });

  it('counts query heads per kv head and heads a mask broadcasts over', () => {
    const q = bhsd(32, 4096, 128, 4); // 32 query heads over 8 kv heads
    const chunk = { b0: 1, batches: 1, g0: 2, kvHeads: 3 };
    expect(chunkStart(q, chunk)).toBe(32 * 4096 * 128 + 2 * 4 * 4096 * 128);
    expect(chunkElements(q, chunk)).toBe(12 * 4096 * 128);
    const broadcastMask: TensorSpan = { strides: [0, 0], perKvHead: 0, slice: 4096 * 4096, bytesPerElement: 1 };
    expect([chunkStart(broadcastMask, chunk), chunkElements(broadcastMask, chunk)]).toEqual([0, 4096 * 4096]);
  });

  it("refuses a head that alone passes the limit, e.g. 'bshd' with one batch (a head spans the tensor)", () => {
    // [1, 36000, 8, 128] bshd: strides b = L·H·D, h = D, s = H·D: one head's slice is the whole tensor.
    const k: TensorSpan = {
      strides: [36000 * 8 * 128, 128],
      perKvHead: 1,
      slice: 35999 * 8 * 128 + 128,
      bytesPerElement: 4,
    };
    expect(() => planChunks(1, 8, (c) => chunkFits([k], c, LIMIT, 256), 'k')).toThrow(AttentionError);
    expect(() => planChunks(1, 8, (c) => chunkFits([k], c, LIMIT, 256), 'k')).toThrow(/^k: got .*'bshd' spreads it/);
  });

  it('leaves room for the alignment slack before a binding', () => {
    const exact = { strides: [0, 0], perKvHead: 1, slice: LIMIT / 4, bytesPerElement: 4 } as TensorSpan;
    expect(chunkFits([exact], { b0: 0, batches: 1, g0: 0, kvHeads: 1 }, LIMIT, 256)).toBe(false);
    expect(chunkFits([{ ...exact, slice: LIMIT / 4 - 65 }], { b0: 0, batches: 1, g0: 0, kvHeads: 1 }, LIMIT, 256)).toBe(
      true,
    );
  });
});
