/**
 * Node GPU ring for the GEMM kernel (shaders/linear.wgsl): `attn.linear` against reference.linear,
 * the head-split epilogue of encodeMatmul writing bshd and bhsd, the rotary epilogue against a
 * float64 rotation written here, and bad input. Every test ends with no live buffer.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAttention, GpuTensor, reference, type AttentionContext } from '../../src/index';
import { encodeMatmul, operandOf, rotaryTable, type MatmulCall } from '../../src/ops/linear/encode';
import { planMatmul } from '../../src/ops/linear/plan';
import { rng } from '../cases';
import {
  bytesAt,
  linearCaseInputs,
  linearDtype,
  linearExpected,
  LINEAR_CASES,
  type Host,
  type LinearCase,
} from '../linear-cases';
import { compareArrays } from '../helpers/compare';
import { nodeGpu } from '../helpers/node-gpu';
import { expectRejectedOn } from '../helpers/rejections';

let attn: AttentionContext;
beforeAll(async () => {
  attn = await createAttention({ gpu: await nodeGpu() });
});
afterAll(() => attn?.destroy());

// What a test made is freed after it even when it fails, so one failure does not cascade; then
// nothing may be left: an op takes exactly the buffers of the tensors it returns.
const made: GpuTensor[] = [];
const appBuffers: GPUBuffer[] = [];
afterEach(() => {
  made.splice(0).forEach((t) => t.destroy());
  appBuffers.splice(0).forEach((b) => b.destroy());
  expect(attn.stats.liveBuffers, 'every buffer back in the pool').toBe(0);
});
/** Tracks a tensor for the cleanup above. */
function keep<T extends GpuTensor>(tensor: T): T {
  made.push(tensor);
  return tensor;
}
const upload = (data: Float32Array, shape: number[]) => keep(attn.tensor(data, shape));

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const random = (seed: string, n: number) => {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => 2 * next() - 1);
};
const host = (data: Float32Array, shape: number[]) => ({ data, shape });

/**
 * Uploads `data` into an app buffer at a byte offset (not a multiple of the binding alignment; for
 * f16 possibly inside a word) and wraps it.
 */
function wrapAt(data: Float32Array<ArrayBuffer>, shape: number[], byteOffset: number, dtype: 'f32' | 'f16' = 'f32') {
  const { offset, bytes } = bytesAt({ data, shape }, dtype, byteOffset);
  const buffer = attn.device.createBuffer({
    size: offset + bytes.byteLength,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
  });
  appBuffers.push(buffer);
  attn.device.queue.writeBuffer(buffer, offset, bytes);
  return attn.wrap(buffer, shape, { offset: byteOffset, dtype });
}

/** Runs a case of test/linear-cases.ts (app buffers at its byte offsets where it has them). */
async function expectLinear(c: LinearCase): Promise<void> {
  const inputs = linearCaseInputs(c);
  const put = (t: Host, i: number) =>
    c.offsets
      ? wrapAt(t.data, t.shape, c.offsets[i], linearDtype(c, i))
      : keep(attn.tensor(t.data, t.shape, { dtype: linearDtype(c, i) }));
  const tensors = [put(inputs.x, 0), put(inputs.weight, 1), ...(inputs.bias ? [put(inputs.bias, 2)] : [])];
  const y = keep(attn.linear(tensors[0], tensors[1], tensors[2]));
  const expected = linearExpected(inputs);
  expect(y.shape).toEqual(expected.shape);
  const r = compareArrays(await y.read(), expected.data);
  expect(r.ok, r.message).toBe(true);
}

describe('attn.linear vs reference.linear (test/linear-cases.ts)', () => {
  for (const c of LINEAR_CASES) it(c.name, () => expectLinear(c));
});

/** Runs encodeMatmul calls in one submission; returns what the output buffer holds. */
async function runCalls(calls: MatmulCall[], out: GpuTensor): Promise<Float32Array> {
  await attn.runtime.run(
    'test matmul',
    calls.map((call) => encodeMatmul(attn.runtime, call)),
  );
  return out.read();
}

/** An output tensor of `elements` f32 from the pool, zeroed. */
function outputTensor(elements: number): GpuTensor {
  return upload(new Float32Array(elements), [elements]);
}

describe('encodeMatmul head-split epilogue', () => {
  // B = 2, L = 7, H = 3, D = 6 (a 4-column block can straddle two heads), E = 10.
  const [B, L, H, D, E] = [2, 7, 3, 6, 10];
  const x = random('split x', B * L * E);
  const w = random('split w', H * D * E);
  const b = random('split b', H * D);
  const plain = reference.linear(host(x, [B, L, E]), host(w, [H * D, E]), host(b, [H * D])).data; // = bshd [B, L, H, D]

  it('writes bshd and bhsd (at an element offset) from one submission', async () => {
    const [xT, wT, bT] = [upload(x, [B * L, E]), upload(w, [H * D, E]), upload(b, [H * D])];
    const pad = 5;
    const out = outputTensor(2 * B * L * H * D + pad);
    const common = {
      x: operandOf(xT),
      xStrideM: E,
      M: B * L,
      K: E,
      weight: operandOf(wT),
      N: H * D,
      bias: operandOf(bT),
    };
    const o = operandOf(out);
    const bshd = { ...o, rowsPerBatch: L, headDim: D, strideB: L * H * D, strideL: H * D, strideH: D };
    const bhsd = {
      ...o,
      elementOffset: o.elementOffset + B * L * H * D + pad,
      rowsPerBatch: L,
      headDim: D,
      strideB: H * L * D,
      strideL: D,
      strideH: L * D,
    };
    const got = await runCalls(
      [
        { ...common, out: bshd },
        { ...common, out: bhsd },
      ],
      out,
    );
    const rearranged = new Float64Array(B * L * H * D);
    for (let i = 0; i < B; i++)
      for (let l = 0; l < L; l++)
        for (let h = 0; h < H; h++)
          for (let d = 0; d < D; d++) {
            rearranged[((i * H + h) * L + l) * D + d] = plain[((i * L + l) * H + h) * D + d];
          }
    const first = compareArrays(got.subarray(0, B * L * H * D), plain);
    expect(first.ok, `bshd: ${first.message}`).toBe(true);
    expect([...got.subarray(B * L * H * D, B * L * H * D + pad)], 'the gap between them is untouched').toEqual(
      new Array(pad).fill(0),
    );
    const second = compareArrays(got.subarray(B * L * H * D + pad), rearranged);
    expect(second.ok, `bhsd: ${second.message}`).toBe(true);
  });
});

describe('encodeMatmul with a folded grid', () => {
  it('rebuilds the tile index from x and y (a plan for at most 4 workgroups per dimension)', async () => {
    const [M, N, K] = [257, 129, 40];
    const x = random('fold x', M * K);
    const w = random('fold w', N * K);
    const { maxComputeWorkgroupStorageSize, maxComputeInvocationsPerWorkgroup, maxComputeWorkgroupSizeX } =
      attn.device.limits;
    const { maxStorageBufferBindingSize, maxBufferSize } = attn.device.limits;
    const limits = {
      maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX,
      maxStorageBufferBindingSize,
      maxBufferSize,
      maxComputeWorkgroupsPerDimension: 4,
    };
    const plan = planMatmul({ M, N, K }, limits);
    expect(plan.workgroups[1]).toBeGreaterThan(1);
    expect(plan.workgroups[0] * plan.workgroups[1]).toBeGreaterThan(plan.tiles); // padding workgroups return early
    const [xT, wT, out] = [upload(x, [M, K]), upload(w, [N, K]), outputTensor(M * N)];
    const call: MatmulCall = {
      x: operandOf(xT),
      xStrideM: K,
      M,
      K,
      weight: operandOf(wT),
      N,
      out: { ...operandOf(out), rowsPerBatch: M, headDim: N, strideB: 0, strideL: N, strideH: 0 },
    };
    await attn.runtime.run('test folded matmul', [encodeMatmul(attn.runtime, call, plan)]);
    const r = compareArrays(await out.read(), reference.linear(host(x, [M, K]), host(w, [N, K])).data);
    expect(r.ok, r.message).toBe(true);
  });
});

/** y (bshd, [B, L, N]) with GPT-J rotation on columns [begin, end), head dims < rotDim, in float64. */
function rotateReference(
  y: Float64Array,
  [B, L, N]: number[],
  D: number,
  rot: { rotDim: number; colBegin: number; colEnd: number; positionOffset: number; base: number },
): Float64Array {
  const out = Float64Array.from(y);
  for (let i = 0; i < B; i++)
    for (let l = 0; l < L; l++)
      for (let n = rot.colBegin; n < rot.colEnd; n += 2) {
        const d = n % D;
        if (d >= rot.rotDim) continue;
        const angle = (l + rot.positionOffset) * rot.base ** (-d / rot.rotDim);
        const at = (i * L + l) * N + n;
        const [a, c] = [y[at], y[at + 1]];
        out[at] = a * Math.cos(angle) - c * Math.sin(angle);
        out[at + 1] = a * Math.sin(angle) + c * Math.cos(angle);
      }
  return out;
}

describe('encodeMatmul rotary epilogue (GPT-J pairs)', () => {
  // A packed q|k|v projection: 2 query heads, 1 kv head, D = 6, rotDim = 4; v is not rotated.
  const [B, L, E, D, Hq, Hkv] = [2, 7, 12, 6, 2, 1];
  const N = (Hq + 2 * Hkv) * D;
  const rotDim = 4;
  const x = random('rot x', B * L * E);
  const w = random('rot w', N * E);
  const b = random('rot b', N);
  const projected = reference.linear(host(x, [B * L, E]), host(w, [N, E]), host(b, [N])).data;

  for (const positionOffset of [0, 1000]) {
    it(`positions ${positionOffset} … ${positionOffset + L - 1}, columns [0, ${(Hq + Hkv) * D}) of ${N}`, async () => {
      const [xT, wT, bT] = [upload(x, [B * L, E]), upload(w, [N, E]), upload(b, [N])];
      const positions = positionOffset + L + 3;
      const table = keep(rotaryTable(attn.runtime, positions, rotDim, 500));
      const out = outputTensor(B * L * N);
      const rotary = {
        table: operandOf(table),
        positions,
        rotDim,
        colBegin: 0,
        colEnd: (Hq + Hkv) * D,
        positionOffset,
      };
      const got = await runCalls(
        [
          {
            x: operandOf(xT),
            xStrideM: E,
            M: B * L,
            K: E,
            weight: operandOf(wT),
            N,
            bias: operandOf(bT),
            rotary,
            out: { ...operandOf(out), rowsPerBatch: L, headDim: D, strideB: L * N, strideL: N, strideH: D },
          },
        ],
        out,
      );
      const expected = rotateReference(projected, [B, L, N], D, { ...rotary, base: 500 });
      const r = compareArrays(got, expected);
      expect(r.ok, r.message).toBe(true);
      const vUnchanged = compareArrays(got.subarray((Hq + Hkv) * D, N), projected.subarray((Hq + Hkv) * D, N));
      expect(vUnchanged.ok, 'v columns of row 0 are the plain projection').toBe(true);
    });
  }

  it('refuses inconsistent rotary settings before encoding', () => {
    const o = operandOf(upload(new Float32Array(8), [8]));
    const call: MatmulCall = {
      x: o,
      xStrideM: 2,
      M: 2,
      K: 2,
      weight: o,
      N: 4,
      out: { ...o, rowsPerBatch: 2, headDim: 4, strideB: 8, strideL: 4, strideH: 4 },
    };
    const rotary = { table: o, positions: 2, rotDim: 4, colBegin: 0, colEnd: 4, positionOffset: 0 };
    expect(() => encodeMatmul(attn.runtime, { ...call, rotary: { ...rotary, rotDim: 3 } })).toThrow(/rotDim 3/);
    expect(() => encodeMatmul(attn.runtime, { ...call, rotary: { ...rotary, positionOffset: 1 } })).toThrow(
      /positions up to 3/,
    );
    expect(() => encodeMatmul(attn.runtime, { ...call, rotary: { ...rotary, colEnd: 3 } })).toThrow(/columns \[0, 3\)/);
  });
});

describe('attn.linear rejects bad input (AttentionError naming the argument, nothing enqueued)', () => {
  const t = (shape: number[]) => upload(new Float32Array(size(shape)), shape);

  it('names x, weight and bias', async () => {
    const [x, w] = [t([4, 8]), t([3, 8])];
    expectRejectedOn(attn, () => attn.linear(new Float32Array(32) as unknown as GpuTensor, w), 'x', 'GpuTensor');
    const [w35, w24, b4, b13] = [t([3, 5]), t([24]), t([4]), t([1, 3])];
    expectRejectedOn(attn, () => attn.linear(x, w35), 'weight', '[3, 5]', '[N, 8]', 'K = 8 from x');
    expectRejectedOn(attn, () => attn.linear(x, w24), 'weight', '[24]', '[N, 8]');
    expectRejectedOn(attn, () => attn.linear(x, w, b4), 'bias', '[4]', '[3]');
    expectRejectedOn(attn, () => attn.linear(x, w, b13), 'bias', '[1, 3]');
    const rank0 = new GpuTensor(attn.runtime, x.buffer, [], 0, false);
    expectRejectedOn(attn, () => attn.linear(rank0, w), 'x', 'rank ≥ 1');
    const other = await createAttention({ gpu: await nodeGpu() });
    const foreign = other.tensor(new Float32Array(24), [3, 8]);
    expectRejectedOn(attn, () => attn.linear(x, foreign), 'weight', 'context');
    other.destroy();
    const gone = t([3]);
    gone.destroy();
    expectRejectedOn(attn, () => attn.linear(x, w, gone), 'bias', 'destroyed');
  });

  it('refuses an output past the device buffer limits', () => {
    const n = 65536;
    const [x, w] = [t([n, 1]), t([n, 1])];
    expectRejectedOn(attn, () => attn.linear(x, w), 'output', `${n * n} elements`, 'bytes');
  });
});
