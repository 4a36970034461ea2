/**
 * Node GPU ring for `attn.multiHeadAttention` against `reference.multiHeadAttention` (float64):
 * self and cross attention, grouped/multi-query heads, rotary in both conventions, key-padding
 * masks with masks and causal, attention weights, packed vs separate weights, bad input, the
 * dispatches one forward issues, and the buffers a layer holds. Few distinct head dims and option
 * sets: each compiles new pipelines on SwiftShader.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  AttentionError,
  createAttention,
  reference,
  type AttentionContext,
  type GpuMask,
  type GpuTensor,
  type HostTensor,
  type MhaConfig,
  type MultiHeadAttention,
  type ReferenceMhaConfig,
  type RotaryOptions,
} from '../../src/index';
import { compareArrays } from '../helpers/compare';
import { nodeGpu } from '../helpers/node-gpu';
import {
  hostWeights,
  mhaCaseInputs,
  MHA_CASES,
  paddingMask,
  random,
  unpack,
  type MhaHostOptions,
  type MhaSizes,
} from '../mha-cases';

let attn: AttentionContext;
beforeAll(async () => {
  attn = await createAttention({ gpu: await nodeGpu() });
});
afterAll(() => attn?.destroy());

// What a test made is freed after it even when it fails; then no buffer may be left.
const made: (GpuTensor | GpuMask)[] = [];
const layers: MultiHeadAttention[] = [];
afterEach(() => {
  layers.splice(0).forEach((l) => l.destroy());
  made.splice(0).forEach((t) => t.destroy());
  expect(attn.stats.liveBuffers, 'every buffer back in the pool').toBe(0);
});
function keep<T extends GpuTensor | GpuMask>(t: T): T {
  made.push(t);
  return t;
}

/** The storage type float tensors are uploaded in (a case with `f16` stores every one as f16). */
let floatDtype: 'f32' | 'f16' = 'f32';
const gpu = (t: HostTensor): GpuTensor | GpuMask =>
  keep(
    t.data instanceof Uint8Array
      ? attn.mask(t.data, [...t.shape])
      : attn.tensor(t.data as Float32Array, [...t.shape], { dtype: floatDtype }),
  );

type Sizes = MhaSizes;

/** A host layer config and the same layer with its weights on the GPU. */
function onBoth(host: ReferenceMhaConfig): { host: ReferenceMhaConfig; device: MhaConfig } {
  const onGpu = Object.fromEntries(Object.entries(host.weights).map(([k, t]) => [k, t && gpu(t as HostTensor)]));
  return { host, device: { ...host, weights: onGpu } as unknown as MhaConfig };
}

function configs(
  s: Sizes,
  weights: Record<string, HostTensor>,
  rotary?: RotaryOptions,
): { host: ReferenceMhaConfig; device: MhaConfig } {
  const sizes = { embedDim: s.E, numHeads: s.H, numKvHeads: s.Hkv, headDim: s.hd, kdim: s.kdim, vdim: s.vdim, rotary };
  return onBoth({ ...sizes, weights } as unknown as ReferenceMhaConfig);
}

/** Host inputs of one forward; tensors go to the GPU as GpuTensor (float) or GpuMask (Uint8Array). */
type HostOptions = MhaHostOptions;
function gpuOptions(o: HostOptions): Record<string, unknown> {
  const isTensor = (v: unknown): v is HostTensor => typeof v === 'object' && v !== null && 'data' in v;
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, isTensor(v) ? gpu(v) : v]));
}

function expectClose(actual: Float32Array, expected: Float64Array, what: string): void {
  const r = compareArrays(actual, expected);
  expect(r.ok, `${what}: ${r.message}`).toBe(true);
}

/** Runs one forward on the GPU and the reference and compares output (and weights). */
async function expectLayer(
  c: { host: ReferenceMhaConfig; device: MhaConfig },
  x: HostTensor,
  options: HostOptions = {},
): Promise<Float32Array> {
  const layer = attn.multiHeadAttention(c.device);
  layers.push(layer);
  const expected = reference.multiHeadAttention(c.host).forward(x, options as never) as ReturnType<
    typeof reference.sdpa
  >;
  const result = layer.forward(gpu(x) as GpuTensor, gpuOptions(options) as never) as
    GpuTensor | { output: GpuTensor; weights: GpuTensor };
  if ('weights' in result) {
    const e = expected as unknown as {
      output: { data: Float64Array; shape: number[] };
      weights: { data: Float64Array; shape: number[] };
    };
    [result.output, result.weights].forEach(keep);
    expect(result.weights.shape).toEqual(e.weights.shape);
    expectClose(await result.weights.read(), e.weights.data, 'weights');
    expectClose(await result.output.read(), e.output.data, 'output');
    return result.output.read();
  }
  keep(result);
  const e = expected as unknown as { data: Float64Array; shape: number[] };
  expect(result.shape).toEqual(e.shape);
  const got = await result.read();
  expectClose(got, e.data, 'output');
  return got;
}

// Self and cross attention, E ∈ {8, 64, 96}, 1/2/8/12 heads, multi-query and grouped-query,
// rotary in both conventions, key-padding masks, needWeights: the browser ring runs the same table.
describe('the shared case table (test/mha-cases.ts) vs reference.multiHeadAttention', () => {
  for (const c of MHA_CASES) {
    it(c.name, async () => {
      const { config, x, options } = mhaCaseInputs(c);
      floatDtype = c.f16 ? 'f16' : 'f32';
      try {
        await expectLayer(onBoth(config), x, options);
      } finally {
        floatDtype = 'f32';
      }
    });
  }
});

describe('multiHeadAttention vs reference.multiHeadAttention: sizes the browser ring leaves out', () => {
  it('E=512, 8 heads, packed, L=3', async () => {
    const big = { E: 512, H: 8 };
    await expectLayer(configs(big, hostWeights('big', big, true, true)), random('big x', [1, 3, 512]));
  });

  it('an explicit headDim (E=8, 2 heads of 6)', async () => {
    const s = { E: 8, H: 2, hd: 6 };
    await expectLayer(configs(s, hostWeights('hd', s, false, true)), random('hd x', [1, 4, 8]));
  });
});

describe('a hand-checked layer', () => {
  it('E = 2, one head, identity q/k/v/o, oBias [10, 20], x = the identity rows', async () => {
    // Scores [[1, 0], [0, 1]]/√2, so row 0 attends with p = 1/(1 + e^(−1/√2)) to token 0 and 1 − p to token 1.
    const eye = () => attn.tensor([1, 0, 0, 1], [2, 2]);
    const weights = {
      q: keep(eye()),
      k: keep(eye()),
      v: keep(eye()),
      o: keep(eye()),
      oBias: keep(attn.tensor([10, 20], [2])),
    };
    const layer = attn.multiHeadAttention({ embedDim: 2, numHeads: 1, weights });
    layers.push(layer);
    const y = keep(layer.forward(keep(attn.tensor([1, 0, 0, 1], [1, 2, 2]))));
    const [p, q] = [0.6697615493266569, 0.3302384506733431];
    const r = compareArrays(await y.read(), [10 + p, 20 + q, 10 + q, 20 + p]);
    expect(r.ok, r.message).toBe(true);
  });
});

// NeoX with dim < headDim and an offset, and GPT-J: in the shared table.
describe('rotary position embeddings in the projection epilogue', () => {
  const s = { E: 64, H: 8, Hkv: 2 };
  it('GPT-NeoX, full head dim, separate weights, cross-attention (Lk ≠ L)', async () => {
    const c = configs(s, hostWeights('neox2', s, false, true), { base: 500 });
    await expectLayer(c, random('neox2 x', [2, 5, 64]), {
      key: random('neox2 k', [2, 9, 64]),
      value: random('neox2 v', [2, 9, 64]),
    });
  });
  it('grows its table for a longer sequence and frees it on destroy', async () => {
    const c = configs(s, hostWeights('grow', s, true, false), { positionOffset: 20 });
    await expectLayer(c, random('grow x1', [1, 3, 64]));
    await expectLayer(c, random('grow x2', [1, 40, 64]));
  });
});

// With causal, with a boolean mask [B, 1, L, L] and causal, in cross-attention with needWeights per head: in the shared table.
describe('keyPaddingMask [B, Lk] (1 = padding)', () => {
  const s = { E: 64, H: 8, Hkv: 2 };
  const [B, L] = [2, 7];
  const padding = paddingMask(B, L);
  const w = hostWeights('pad', s, true, true);
  const x = random('pad x', [B, L, 64]);
  it('alone', () => expectLayer(configs(s, w), x, { keyPaddingMask: padding }));
  it('with a float mask [L, L]', async () => {
    const float = random('pad float mask', [L, L]);
    (float.data as Float32Array)[3] = -Infinity;
    await expectLayer(configs(s, w), x, { keyPaddingMask: padding, mask: float });
  });
  it('padding every key of a batch gives the output bias there (no NaN)', async () => {
    const all = { data: Uint8Array.from({ length: B * L }, (_, i) => Number(i < L)), shape: [B, L] };
    await expectLayer(configs(s, w), x, { keyPaddingMask: all });
  });
});

// Averaged (the default) [B, L, Lk], and per head in cross-attention: in the shared table.
describe('needWeights', () => {
  const s = { E: 64, H: 8, Hkv: 2 };
  const w = hostWeights('nw', s, true, true);
  const x = random('nw x', [2, 5, 64]);
  it('per head [B, H, L, Lk], causal', () =>
    expectLayer(configs(s, w), x, { needWeights: true, averageHeads: false, causal: true }));
  it('refuses when the score matrix cannot exist, naming options.needWeights, nothing enqueued', () => {
    const layer = attn.multiHeadAttention(configs(s, w).device);
    layers.push(layer);
    const limit = Math.min(attn.device.limits.maxStorageBufferBindingSize, attn.device.limits.maxBufferSize);
    const L = Math.ceil(Math.sqrt(limit / 4 / 8)) + 1; // B·H·L·L·4 bytes > limit with H = 8
    const big = keep(
      attn.wrap(attn.device.createBuffer({ size: 4 * L * 64, usage: GPUBufferUsage.STORAGE }), [1, L, 64]) as GpuTensor,
    );
    const before = attn.stats.liveBuffers;
    expect(() => layer.forward(big, { needWeights: true })).toThrow(/^options\.needWeights: got /);
    expect(attn.stats.liveBuffers).toBe(before);
  });
});

describe('packed and separate weights', () => {
  it('give the same output (GPU against GPU and against the reference), with GQA, bias and NeoX rotary', async () => {
    const s = { E: 64, H: 8, Hkv: 2 };
    const packed = hostWeights('same', s, true, true);
    const x = random('same x', [2, 6, 64]);
    const a = await expectLayer(configs(s, packed, { dim: 6 }), x, { causal: true });
    const b = await expectLayer(configs(s, unpack(packed, s), { dim: 6 }), x, { causal: true });
    const r = compareArrays(a, b);
    expect(r.ok, r.message).toBe(true);
  });
});

describe('what one forward issues', () => {
  it('packed self-attention: one submission of 1 projection GEMM for Q, K and V, attention, the output GEMM; no transpose', async () => {
    const s = { E: 64, H: 8, Hkv: 2 };
    const layer = attn.multiHeadAttention(configs(s, hostWeights('count', s, true, true), {}).device);
    layers.push(layer);
    const spy = vi.spyOn(attn.runtime, 'run');
    try {
      keep(
        layer.forward(gpu(random('count x', [2, 5, 64])) as GpuTensor, {
          keyPaddingMask: gpu({ data: new Uint8Array(10), shape: [2, 5] }) as GpuMask,
        }),
      );
      expect(spy).toHaveBeenCalledTimes(1);
      const labels = spy.mock.calls[0][1].map((d) => d.pipeline.label);
      expect(labels.map((l) => l.split('[')[0])).toEqual(['linear_matmul', 'sdpa_forward', 'linear_matmul']);
      expect(labels[0]).toContain('HAS_ROTARY=1');
      expect(labels[0]).toContain('ROTARY_HALF_SPLIT=1');
      expect(labels[1]).toContain('HAS_KEY_PADDING=1');
      const [qkv] = spy.mock.calls[0][1];
      expect(qkv.uniforms.n, 'one GEMM makes (8 + 2·2) heads of 8').toBe(96);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('multiHeadAttention rejects bad input with nothing enqueued', () => {
  const s = { E: 8, H: 2 };
  function expectRejected(call: () => unknown, argument: string, ...fragments: string[]): void {
    const before = attn.stats.liveBuffers;
    let caught: unknown;
    try {
      call();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AttentionError);
    expect((caught as AttentionError).argument).toBe(argument);
    for (const f of fragments) expect((caught as Error).message).toContain(f);
    expect(attn.stats.liveBuffers, 'a rejected call took no buffer').toBe(before);
  }
  it('config: embedDim not divisible, numKvHeads not a divisor, odd rotary dim, wrong weight shape or count', () => {
    const w = configs(s, hostWeights('bad', s, false, false)).device.weights;
    const mha = (config: Partial<MhaConfig>) => () =>
      attn.multiHeadAttention({ embedDim: 8, numHeads: 2, weights: w, ...config } as MhaConfig);
    expectRejected(mha({ numHeads: 3 }), 'config.embedDim', 'a multiple of numHeads 3');
    expectRejected(mha({ numKvHeads: 3 }), 'config.numKvHeads', 'a divisor');
    expectRejected(mha({ rotary: { dim: 3 } }), 'config.rotary.dim', 'even');
    expectRejected(mha({ weights: { ...w, q: gpu(random('bad q', [8, 4])) } as never }), 'weights.q', '[8, 4]');
    const { o: _o, ...missing } = w as unknown as Record<string, unknown>;
    expectRejected(mha({ weights: missing as never }), 'weights.o');
    expectRejected(mha({ weights: { ...w, inProj: gpu(random('bad in', [24, 8])) } as never }), 'weights');
    const odd = configs({ ...s, hd: 3 }, hostWeights('odd', { ...s, hd: 3 }, false, false)).device.weights;
    expectRejected(mha({ headDim: 3, rotary: { dim: 2 }, weights: odd }), 'config.headDim', 'even');
  });
  it('forward: x of the wrong width, a destroyed or foreign tensor, a float keyPaddingMask, a mask that does not broadcast', async () => {
    const layer = attn.multiHeadAttention(configs(s, hostWeights('badf', s, false, false)).device);
    layers.push(layer);
    const x = gpu(random('badf x', [1, 3, 8])) as GpuTensor;
    const narrow = gpu(random('w x', [1, 3, 7])) as GpuTensor;
    const floatPadding = gpu(random('f', [1, 3])) as never;
    const longPadding = gpu({ data: new Uint8Array(4), shape: [1, 4] }) as GpuMask;
    const badMask = gpu(random('m', [2, 3])) as GpuTensor;
    expectRejected(() => layer.forward(narrow), 'x', 'width 7');
    const gone = attn.tensor(new Float32Array(24), [1, 3, 8]);
    gone.destroy();
    expectRejected(() => layer.forward(gone), 'x', 'destroyed');
    const other = await createAttention({ gpu: await nodeGpu() });
    try {
      expectRejected(() => layer.forward(other.tensor(new Float32Array(24), [1, 3, 8])), 'x', 'context');
    } finally {
      other.destroy();
    }
    expectRejected(
      () => layer.forward(x, { keyPaddingMask: floatPadding }),
      'options.keyPaddingMask',
      'a float tensor',
    );
    expectRejected(() => layer.forward(x, { keyPaddingMask: longPadding }), 'options.keyPaddingMask', '[1, 4]');
    expectRejected(() => layer.forward(x, { mask: badMask }), 'options.mask');
    expectRejected(() => layer.forward(x, { key: x }), 'options.value');
    expectRejected(() => layer.forward(x, { causal: 1 as never }), 'options.causal');
  });
  it('a weight destroyed after the layer was made; forward after destroy()', () => {
    const c = configs(s, hostWeights('gone', s, false, true)).device;
    const layer = attn.multiHeadAttention(c);
    const x = gpu(random('gone x', [1, 3, 8])) as GpuTensor;
    (c.weights as { kBias: GpuTensor }).kBias.destroy();
    expectRejected(() => layer.forward(x), 'weights.kBias', 'destroyed');
    layer.destroy();
    expectRejected(() => layer.forward(x), 'layer', 'destroy');
  });
});
