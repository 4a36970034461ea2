/**
 * Every GEMM tiling a plan or a tuning can choose (LINEAR_TUNE_TILES: 1 × 1, 1 × 2, 2 × 1 and 2 × 2
 * blocks of 4 × 4 outputs per invocation, tiles of 4 to 128 rows), forced through planMatmul's
 * `forced` tile, against the float64 reference on odd sizes (1, 7, 33, 100, 257): plain with bias;
 * f16 x, weight and bias with GPT-NeoX rotary into bshd heads; and an f16 output (rounded per
 * column pair). Every test ends with no live buffer.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { GpuTensor, reference, roundF16, type AttentionContext } from '../../src/index';
import { encodeMatmul, operandOf, plainOutput, rotaryTable, type MatmulCall } from '../../src/ops/linear/encode';
import { matmulTileFits, planMatmul, type MatmulTile } from '../../src/ops/linear/plan';
import { LINEAR_TUNE_TILES } from '../../src/ops/linear/plan-tuning';
import { rng } from '../cases';
import { compareArrays } from '../helpers/compare';
import { trackedContext } from '../helpers/tracked-context';

const tracked = trackedContext();
let attn: AttentionContext;
beforeAll(() => {
  attn = tracked.attn;
});
const upload = (data: Float32Array, f16 = false) => {
  const t = attn.tensor(f16 ? data.map(roundF16) : data, [data.length], { dtype: f16 ? 'f16' : 'f32' });
  tracked.own(t);
  return t;
};
const random = (seed: string, n: number) => {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => 2 * next() - 1);
};
const name = (t: MatmulTile) => `${t.tileM}×${t.tileN}×${t.tileK} blocks ${t.rowBlocks}×${t.colBlocks}`;

/** Runs one call with `tile` forced and returns the output tensor's values. */
async function runForced(call: MatmulCall, tile: MatmulTile, out: GpuTensor): Promise<Float32Array> {
  const plan = planMatmul(call, attn.device.limits, 'x', tile);
  await attn.runtime.run('test forced tile', [encodeMatmul(attn.runtime, call, plan)]);
  return out.read();
}

/** y [B·L, N] after GPT-NeoX rotary on every head's first rotDim dims, in the kernel's interleaved order. */
function neoxReference(y: Float64Array, [B, L, N]: number[], D: number, rotDim: number, base: number): Float64Array {
  const out = Float64Array.from(y);
  for (let r = 0; r < B * L; r++)
    for (let n = 0; n < N; n += 2) {
      const d = n % D;
      if (d >= rotDim) continue;
      const i = d / 2;
      const [a, c] = [y[r * N + n - d + i], y[r * N + n - d + i + rotDim / 2]];
      const angle = (r % L) * base ** (-d / rotDim);
      out[r * N + n] = a * Math.cos(angle) - c * Math.sin(angle);
      out[r * N + n + 1] = a * Math.sin(angle) + c * Math.cos(angle);
    }
  return out;
}

const fits = () => LINEAR_TUNE_TILES.filter((t) => matmulTileFits(t, attn.device.limits));

describe('every GEMM tiling, forced, against reference.linear', () => {
  it('has tilings of every blocking that fit this device', () => {
    const blockings = new Set(fits().map((t) => `${t.rowBlocks}×${t.colBlocks}`));
    expect([...blockings].sort()).toEqual(['1×1', '1×2', '2×1', '2×2']);
  });

  for (const tile of LINEAR_TUNE_TILES) {
    it(`${name(tile)}: 1×7×33, 7×33×100, 100×257×7, 257×100×33 with bias`, async (ctx) => {
      if (!matmulTileFits(tile, attn.device.limits)) return ctx.skip();
      for (const [M, N, K] of [
        [1, 7, 33],
        [7, 33, 100],
        [100, 257, 7],
        [257, 100, 33],
      ]) {
        const [x, w, b] = [random(`x${M}`, M * K), random(`w${N}`, N * K), random(`b${N}`, N)];
        const out = upload(new Float32Array(M * N));
        const call = { x: operandOf(upload(x)), xStrideM: K, M, K, weight: operandOf(upload(w)), N };
        const got = await runForced(
          { ...call, bias: operandOf(upload(b)), out: plainOutput(operandOf(out).buffer, M, N) },
          tile,
          out,
        );
        const expected = reference.linear(
          { data: x, shape: [M, K] },
          { data: w, shape: [N, K] },
          { data: b, shape: [N] },
        );
        const r = compareArrays(got, expected.data);
        expect(r.ok, `${M}×${N}×${K}: ${r.message}`).toBe(true);
      }
    });

    it(`${name(tile)}: f16 inputs, NeoX rotary into bshd heads, f32 and f16 outputs`, async (ctx) => {
      if (!matmulTileFits(tile, attn.device.limits)) return ctx.skip();
      const [B, L, H, D, K, rotDim] = [3, 11, 3, 6, 33, 4]; // M = 33, N = 18
      const [M, N] = [B * L, H * D];
      const [x, w, b] = [random('nx', M * K), random('nw', N * K), random('nb', N)].map((a) => a.map(roundF16));
      const table = rotaryTable(attn.runtime, L, rotDim, 100);
      tracked.own(table);
      const rotary = {
        table: operandOf(table),
        positions: L,
        rotDim,
        colBegin: 0,
        colEnd: N,
        positionOffset: 0,
        halfSplit: true,
      };
      const projected = reference.linear(
        { data: x, shape: [M, K] },
        { data: w, shape: [N, K] },
        { data: b, shape: [N] },
      );
      const expected = neoxReference(projected.data, [B, L, N], D, rotDim, 100);
      for (const f16Out of [false, true]) {
        const out = upload(new Float32Array(M * N), f16Out);
        const heads = { rowsPerBatch: L, headDim: D, strideB: L * N, strideL: N, strideH: D };
        const call: MatmulCall = {
          x: operandOf(upload(x, true)),
          xStrideM: K,
          M,
          K,
          weight: operandOf(upload(w, true)),
          N,
          bias: operandOf(upload(b, true)),
          rotary,
          out: { ...operandOf(out), ...heads },
        };
        const got = await runForced(call, tile, out);
        const r = f16Out ? compareArrays(got, expected.map(roundF16), 1e-3, 1e-3) : compareArrays(got, expected);
        expect(r.ok, `${f16Out ? 'f16' : 'f32'} output: ${r.message}`).toBe(true);
      }
    });
  }
});
