/**
 * sdpa past one buffer binding with f16 operands (src/ops/sdpa/chunked.ts): an f16 view needs half
 * the bytes of an f32 one, and each chunk's narrowed view stays f16 with its offset in halves (an
 * odd one too). Pure: fake bindings, WebGPU's minimum limits, no device.
 */
import { describe, expect, it } from 'vitest';
import { NO_MODIFIERS } from '../../../src/contract/modifiers';
import { chunkCalls, planCallChunks } from '../../../src/ops/sdpa/chunked';
import type { AttentionOperands, AttentionView } from '../../../src/ops/sdpa/operands';
import { WEBGPU_MINIMUM } from '../../helpers/limits';

const LIMITS = { ...WEBGPU_MINIMUM, maxBufferSize: 2 ** 30, minStorageBufferOffsetAlignment: 256 };
const buffer = (label: string) => ({ label }) as unknown as GPUBuffer;

/** bhsd operands [1, 8, L, 128] of q (Lq = 3), k, v (Lk keys, f16 at element offset 1 when `f16`) and out. */
function operands(Lk: number, f16: boolean): AttentionOperands {
  const [H, Lq, D] = [8, 3, 128];
  const view = (label: string, L: number, elementOffset: number, half: boolean): AttentionView => ({
    resource: { buffer: buffer(label) },
    elementOffset,
    strides: [H * L * D, L * D, D],
    f16: half,
  });
  return {
    dims: { B: 1, Hq: H, Hkv: H, Lq, Lk, D, Dv: D },
    options: { modifiers: NO_MODIFIERS } as unknown as AttentionOperands['options'],
    q: view('q', Lq, 0, false),
    k: view('k', Lk, f16 ? 1 : 0, f16),
    v: view('v', Lk, f16 ? 1 : 0, f16),
    out: view('out', Lq, 0, false),
    mask: null,
    keyPadding: null,
  };
}

describe('sdpa chunks with f16 operands', () => {
  it('f16 K/V of [1, 8, 72000, 128] (147 MB each) split where f32 of half the keys does', () => {
    expect(planCallChunks(operands(36000, false), false, LIMITS)).toHaveLength(2);
    expect(planCallChunks(operands(72000, true), false, LIMITS)).toHaveLength(2);
    expect(planCallChunks(operands(36000, true), false, LIMITS)).toHaveLength(1);
  });

  it("each chunk's k and v stay f16, offsets counted in halves from an aligned binding", () => {
    const ops = operands(72000, true);
    const chunks = planCallChunks(ops, false, LIMITS);
    const calls = chunkCalls(ops, null, chunks, 256);
    for (const [n, call] of calls.entries()) {
      for (const name of ['k', 'v'] as const) {
        const view = call.ops[name];
        expect(view.f16).toBe(true);
        const offset = view.resource.offset ?? 0;
        expect(offset % 256).toBe(0);
        // Element 0 of the chunk: element 1 + first head · 72000 · 128 of the tensor, 2 bytes each.
        const first = 1 + chunks[n].g0 * 72000 * 128;
        expect(offset + view.elementOffset * 2).toBe(first * 2);
        expect(view.resource.size).toBeGreaterThanOrEqual(view.elementOffset * 2 + chunks[n].kvHeads * 72000 * 128 * 2);
        expect(view.resource.size! % 4).toBe(0);
      }
      expect(call.ops.q.f16).toBe(false);
    }
  });
});
