/**
 * The conformance vectors (ONNX and ONNX Runtime attention tests) through the GPU path on Dawn.
 * Same mapping as the reference ring (test/helpers/conformance.ts): `attn.sdpa`, or
 * `attn.multiHeadAttention` for ONNX Runtime's Attention (packed inProj with its bias, an output
 * projection that copies the attention columns, an explicit headDim); only Y / output is compared.
 *
 * Tolerance: each case's own (numpy allclose, |gpu − expected| ≤ atol + rtol·|expected|) with
 * atol raised to at least 1e-5. ONNX's vectors carry atol 1e-7, which is float64-vs-float32
 * rounding of the stored values; a float32 kernel with another summation order and WGSL's exp
 * cannot promise that, so 1e-5 absolute (under docs/semantics.md's 2e-5 + 1e-4·|ref|) is the floor.
 *
 * The cases that do not run are exactly the named UNSUPPORTED_CASES (test/helpers/conformance.ts, now
 * none), as in the reference ring; every other case's Y / output is compared, and the count is
 * asserted. The 5 float16 cases (F16_CASES) run on f16 tensors: q, k, v (and an f16 float mask) are
 * stored as f16, their values exactly the case's; each is held to its own fp16 tolerance.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttention, type AttentionContext, type GpuMask, type GpuTensor } from '../../src/index';
import {
  allClose,
  F16_CASES,
  isMhaCall,
  loadConformanceCases,
  toConformanceCall,
  unsupportedById,
  UNSUPPORTED_CASES,
  type MhaCall,
  type SdpaCall,
  type Unsupported,
} from '../helpers/conformance';
import { nodeGpu } from '../helpers/node-gpu';
import { decodeF16, encodeF16 } from '../../src/contract/f16';

const GPU_MIN_ATOL = 1e-5;

const cases = loadConformanceCases();
const mapped = cases.map(toConformanceCall);
const supported = mapped.filter((m): m is SdpaCall => !('unsupported' in m) && !isMhaCall(m));
const layers = mapped.filter(isMhaCall);
const unsupported = mapped.filter((m): m is Unsupported => 'unsupported' in m);
/** `${case id} ${output name}` of each GPU output that matched the case's expected output. */
const compared: string[] = [];

/** Host data stored as `dtype`: for f16, the values must already be f16 (the case's own), so nothing is rounded. */
function exact(data: Float32Array, dtype: 'f32' | 'f16'): Float32Array {
  if (dtype === 'f16')
    expect(Array.from(decodeF16(encodeF16(data))), 'f16 values stored exactly').toEqual(Array.from(data));
  return data;
}

/** Y against the case's expected output, with atol raised to GPU_MIN_ATOL. */
function expectClose(call: SdpaCall | MhaCall, data: Float32Array): void {
  const tol = { atol: Math.max(call.tolerance.atol, GPU_MIN_ATOL), rtol: call.tolerance.rtol };
  const y = allClose(call.reshapeOutput({ data }), call.expected.data, tol);
  expect(y.ok, `${call.expected.name}: ${y.detail}`).toBe(true);
}

describe('conformance (GPU, Node/Dawn)', () => {
  let attn: AttentionContext;
  beforeAll(async () => {
    attn = await createAttention({ gpu: await nodeGpu() });
  });
  afterAll(() => {
    attn?.destroy();
    const supportedCount = supported.length + layers.length;
    console.log(
      `conformance (gpu): ${compared.length} outputs compared of ${supportedCount} supported cases (${layers.length} as multi-head layers), ${unsupported.length} unsupported: [${unsupported.map((u) => `${u.id}: ${u.unsupported}`).join(', ')}]`,
    );
  });

  it('runs all 146 cases: 136 through sdpa (5 of them on f16 tensors), 10 as multi-head layers', () => {
    expect(cases.length).toBe(146);
    // Fails when a case drifts into "unsupported" or a listed one starts running: update the list then.
    expect(unsupportedById(mapped)).toEqual(UNSUPPORTED_CASES);
    expect(supported.length).toBe(136);
    expect(layers.length).toBe(10);
    const halves = supported.filter((s) => Object.values(s.storage).includes('f16')).map((s) => s.id);
    expect(halves).toEqual(F16_CASES);
  });

  for (const call of layers) {
    it(`${call.id} (multiHeadAttention)`, async () => {
      const made: GpuTensor[] = [];
      const up = (t: { data: Float32Array; shape: number[] }) => {
        const g = attn.tensor(t.data, t.shape);
        made.push(g);
        return g;
      };
      const layer = attn.multiHeadAttention({
        embedDim: call.embedDim,
        numHeads: call.numHeads,
        headDim: call.headDim,
        weights: {
          inProj: up(call.weights.inProj),
          inProjBias: up(call.weights.inProjBias),
          outProj: up(call.weights.outProj),
        },
      });
      try {
        const y = layer.forward(up(call.x), { scale: call.scale });
        made.push(y);
        expectClose(call, await y.read());
        compared.push(`${call.id} ${call.expected.name}`);
      } finally {
        layer.destroy();
        for (const x of made) x.destroy();
      }
    });
  }

  for (const call of supported) {
    it(call.id, async () => {
      const made: (GpuTensor | GpuMask)[] = [];
      const keep = <T extends GpuTensor | GpuMask>(x: T): T => (made.push(x), x);
      try {
        const { storage } = call;
        const q = keep(attn.tensor(exact(call.q.data, storage.q), call.q.shape, { dtype: storage.q }));
        const k = keep(attn.tensor(exact(call.k.data, storage.k), call.k.shape, { dtype: storage.k }));
        const v = keep(attn.tensor(exact(call.v.data, storage.v), call.v.shape, { dtype: storage.v }));
        const { mask: hostMask, returnWeights: _unused, ...rest } = call.options;
        const mask =
          hostMask &&
          keep(
            hostMask.data instanceof Uint8Array
              ? attn.mask(hostMask.data, hostMask.shape)
              : attn.tensor(exact(hostMask.data, storage.mask), hostMask.shape, { dtype: storage.mask }),
          );
        const out = keep(attn.sdpa(q, k, v, { ...rest, returnLse: false, mask }));
        expect([q, k, v].map((t) => t.dtype)).toEqual([storage.q, storage.k, storage.v]);
        expectClose(call, await out.read());
        compared.push(`${call.id} ${call.expected.name}`);
      } finally {
        for (const x of made) x.destroy();
      }
    });
  }

  // Runs after every case above (tests in a file run in order); fails if any of them failed or was skipped.
  it('compared 146 GPU outputs: 136 Y/output from sdpa (5 from f16 tensors) and 10 from the multi-head layer', () => {
    // attn.sdpa returns no weights, so the 5 qk_matmul_output (mode 3) the reference ring compares are not here.
    expect(compared.length).toBe(146);
    expect(new Set(compared).size).toBe(146);
  });
});
