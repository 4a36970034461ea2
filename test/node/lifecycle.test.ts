/**
 * What a call leaves behind and what its outputs carry: reads own their buffer until they have
 * copied it; a call that throws after taking buffers gives every one back and submits nothing; a
 * kernel's device error reaches every output computed from it; a lost device turns reads and calls
 * into DeviceLostError; a pipeline that cannot compile is reported with its label and not cached.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createAttention,
  DeviceLostError,
  GpuError,
  reference,
  type AttentionContext,
  type GpuTensor,
} from '../../src/index';
import { SHADERS } from '../../src/shaders';
import { rng } from '../cases';
import { compareArrays } from '../helpers/compare';
import { nodeGpu } from '../helpers/node-gpu';

let adapter: GPUAdapter;
let device: GPUDevice;
let attn: AttentionContext;
beforeAll(async () => {
  adapter = (await (await nodeGpu()).requestAdapter())!;
  device = await adapter.requestDevice();
  attn = await createAttention({ device });
});
afterAll(() => {
  attn?.destroy();
  device?.destroy();
});
afterEach(() => vi.restoreAllMocks());

const random = (n: number, seed: string) => {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => next() * 2 - 1);
};
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const make = (shape: number[], seed: string) => attn.tensor(random(size(shape), seed), shape);
const host = (data: Float32Array, shape: number[]) => ({ data, shape });
const rejection = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => e,
  );

describe('reads own their buffer until they have copied it', () => {
  it('read(), destroy(), then a new tensor of the same size: the read resolves with the destroyed tensor’s data', async () => {
    const data = random(1000, 'own');
    const t = attn.tensor(data, [1000]);
    const p = t.read();
    t.destroy();
    const other = attn.tensor(new Float32Array(1000).fill(7), [1000]);
    expect(Array.from(await p)).toEqual(Array.from(data));
    expect(Array.from(await other.read())).toEqual(new Array(1000).fill(7));
    other.destroy();
  });

  it('several pending reads: each gets the data, and the buffer returns to the pool after the last', async () => {
    const data = random(512, 'several');
    const t = attn.tensor(data, [512]);
    const reads = [t.read(), t.read(), t.read()];
    t.destroy();
    const others = [1, 2, 3].map((x) => attn.tensor(new Float32Array(512).fill(x), [512]));
    expect(others.map((o) => o.buffer)).not.toContain(t.buffer);
    for (const r of await Promise.all(reads)) expect(Array.from(r)).toEqual(Array.from(data));
    const again = attn.tensor(new Float32Array(512), [512]);
    expect(again.buffer, 'returned to the pool once every read copied it').toBe(t.buffer);
    [...others, again].forEach((o) => o.destroy());
  });

  it('an op’s output destroyed with a read pending still reads the op’s result', async () => {
    const shape = [1, 2, 16, 8];
    const q = random(size(shape), 'oq');
    const tq = attn.tensor(q, shape);
    const out = attn.sdpa(tq, tq, tq);
    const p = out.read();
    out.destroy();
    const other = attn.tensor(new Float32Array(size(shape)).fill(5), shape);
    const expected = reference.sdpa(host(q, shape), host(q, shape), host(q, shape));
    const r = compareArrays(await p, expected.data);
    expect(r.ok, r.message).toBe(true);
    [tq, other].forEach((t) => t.destroy());
  });

  it('a read started after destroy() rejects', async () => {
    const t = attn.tensor([1, 2], [2]);
    t.destroy();
    expect(await rejection(t.read())).toHaveProperty('argument', 'tensor');
  });
});

/** Runs `call` expecting it to throw `message`, with the pool as before and nothing submitted. */
function expectCleanThrow(call: () => unknown, message: RegExp): { acquired: number } {
  const before = attn.stats.liveBuffers;
  const acquire = vi.spyOn(attn.runtime.pool, 'acquire');
  const submit = vi.spyOn(device.queue, 'submit');
  expect(call).toThrow(message);
  expect(submit, 'nothing was submitted').not.toHaveBeenCalled();
  expect(attn.stats.liveBuffers, 'every buffer taken was given back').toBe(before);
  const acquired = acquire.mock.calls.length;
  acquire.mockRestore();
  submit.mockRestore();
  return { acquired };
}

/** Makes the `n`-th pipeline lookup from now throw (the earlier ones work). */
function failPipelineLookup(n: number): void {
  const cache = attn.runtime.pipelines;
  const get = cache.get.bind(cache);
  let calls = 0;
  vi.spyOn(cache, 'get').mockImplementation((...args) => {
    if (++calls === n) throw new Error('injected: pipeline lookup failed');
    return get(...args);
  });
}

describe('a call that throws after taking buffers gives them all back and submits nothing', () => {
  const shape = [1, 2, 12, 8];

  it('sdpa, its output, lse and the global-token bitset', () => {
    const q = make(shape, 'sq');
    failPipelineLookup(1);
    const options = { window: { left: 2, right: 1 }, globalTokens: [0, 5], returnLse: true } as const;
    const { acquired } = expectCleanThrow(() => attn.sdpa(q, q, q, options), /injected/);
    expect(acquired, 'output, lse and the bitset were taken').toBe(3);
    vi.restoreAllMocks();
    const { output, lse } = attn.sdpa(q, q, q, options);
    [output, lse, q].forEach((t) => t.destroy());
  });

  it('sdpaNaive, after two of its passes were encoded', () => {
    const q = make(shape, 'nq');
    failPipelineLookup(3);
    const { acquired } = expectCleanThrow(
      () => attn.sdpaNaive(q, q, q, { returnWeights: true, returnLse: true }),
      /injected/,
    );
    expect(acquired).toBe(3);
    q.destroy();
  });

  it('linear', () => {
    const [x, w, b] = [make([5, 8], 'lx'), make([3, 8], 'lw'), make([3], 'lb')];
    failPipelineLookup(1);
    expect(expectCleanThrow(() => attn.linear(x, w, b), /injected/).acquired).toBe(1);
    [x, w, b].forEach((t) => t.destroy());
  });

  it('neighborhood1d and neighborhood2d', () => {
    const q1 = make([1, 2, 9, 8], 'n1');
    const rpb = make([2, 5], 'rpb');
    failPipelineLookup(1);
    expectCleanThrow(() => attn.neighborhood1d(q1, q1, q1, { kernel: 3, rpb }), /injected/);
    const q2 = make([1, 1, 5, 5, 8], 'n2');
    failPipelineLookup(1);
    expectCleanThrow(() => attn.neighborhood2d(q2, q2, q2, { kernel: 3 }), /injected/);
    [q1, rpb, q2].forEach((t) => t.destroy());
  });

  it('the multi-head layer, its projections, weights and a new rotary table', () => {
    const E = 16;
    const weights = { inProj: make([3 * E, E], 'in'), outProj: make([E, E], 'out') };
    const layer = attn.multiHeadAttention({ embedDim: E, numHeads: 2, weights, rotary: {} });
    const x = make([2, 6, E], 'x');
    failPipelineLookup(2);
    const { acquired } = expectCleanThrow(() => layer.forward(x, { needWeights: true }), /injected/);
    expect(acquired, 'rotary table, projections, heads, output, weights').toBeGreaterThanOrEqual(5);
    vi.restoreAllMocks();
    const before = attn.stats.liveBuffers;
    const y = layer.forward(x, { needWeights: true });
    expect(attn.stats.liveBuffers, 'the rotary table was kept this time, with the two outputs').toBe(before + 3);
    [y.output, y.weights, x, weights.inProj, weights.outProj].forEach((t) => t.destroy());
    layer.destroy();
  });

  it('uniform buffers made before a failing bind group are destroyed', () => {
    const E = 8;
    const weights = { q: make([E, E], 'q'), k: make([E, E], 'k'), v: make([E, E], 'v'), o: make([E, E], 'o') };
    const layer = attn.multiHeadAttention({ embedDim: E, numHeads: 2, weights });
    const x = make([1, 4, E], 'ux');
    const createBuffer = vi.spyOn(device, 'createBuffer');
    const destroy = vi.spyOn(GPUBuffer.prototype, 'destroy');
    const createBindGroup = device.createBindGroup.bind(device);
    let groups = 0;
    vi.spyOn(device, 'createBindGroup').mockImplementation((descriptor) => {
      if (++groups === 3) throw new Error('injected: bind group failed');
      return createBindGroup(descriptor);
    });
    expectCleanThrow(() => layer.forward(x), /injected/);
    const uniforms = createBuffer.mock.calls
      .map((call, i) => ({ call, buffer: createBuffer.mock.results[i].value as GPUBuffer }))
      .filter(({ call }) => call[0].usage & GPUBufferUsage.UNIFORM)
      .map(({ buffer }) => buffer);
    expect(uniforms.length, 'the uniforms of the passes bound so far').toBe(3);
    for (const u of uniforms) expect(destroy.mock.contexts).toContain(u);
    vi.restoreAllMocks();
    layer.forward(x).destroy();
    [x, ...Object.values(weights)].forEach((t) => t.destroy());
    layer.destroy();
  });
});

describe('errors travel to every output computed from a failed one', () => {
  /** The output of linear on an app buffer the app destroyed: its ready rejects with that kernel's GpuError. */
  function failedOutput(shape: [number, number]): { tensor: GpuTensor; cleanup: () => void } {
    const buffer = device.createBuffer({
      label: 'app buffer (destroyed)',
      size: shape[0] * 4 * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
    const x = attn.wrap(buffer, [shape[0], 4]);
    buffer.destroy();
    const w = make([shape[1], 4], 'fw');
    return { tensor: attn.linear(x, w), cleanup: () => w.destroy() };
  }

  it('sdpa on a destroyed app buffer, its output through linear: the read rejects with sdpa’s GpuError', async () => {
    const buffer = device.createBuffer({
      label: 'app q (destroyed)',
      size: 8 * 16 * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
    const q = attn.wrap(buffer, [1, 1, 8, 16]);
    buffer.destroy();
    const attended = attn.sdpa(q, q, q);
    const w = make([4, 16], 'w');
    const y = attn.linear(attended, w);
    const error = await rejection(y.read());
    expect(error).toBeInstanceOf(GpuError);
    expect((error as GpuError).label).toMatch(/^sdpa_forward\[/);
    expect((error as GpuError).message).toContain('app q (destroyed)');
    expect(await rejection(attended.read()), 'the same error object').toBe(error);
    [attended, y, w].forEach((t) => t.destroy());
  });

  it('through a mask, a relative position bias, linear weights and a layer’s weights', async () => {
    const bad = [failedOutput([6, 6]), failedOutput([2, 5]), failedOutput([3, 8]), failedOutput([8, 8])];
    const original = await rejection(bad[0].tensor.ready);
    expect(original).toBeInstanceOf(GpuError);
    expect((original as GpuError).label).toMatch(/^linear_matmul\[/);
    const q = make([1, 2, 6, 8], 'tq');
    const x = make([2, 8], 'tx');
    const layer = attn.multiHeadAttention({
      embedDim: 8,
      numHeads: 2,
      weights: { q: make([8, 8], 'wq'), k: make([8, 8], 'wk'), v: make([8, 8], 'wv'), o: bad[3].tensor },
    });
    const outputs = {
      'sdpa mask': attn.sdpa(q, q, q, { mask: bad[0].tensor }),
      'neighborhood rpb': attn.neighborhood1d(q, q, q, { kernel: 3, rpb: bad[1].tensor }),
      'linear weight': attn.linear(x, bad[2].tensor),
      'layer weight': layer.forward(make([1, 3, 8], 'lx')),
    };
    for (const [route, output] of Object.entries(outputs)) {
      const error = await rejection(output.read());
      expect(error, route).toBeInstanceOf(GpuError);
      expect((error as GpuError).label, route).toMatch(/^linear_matmul\[/);
      expect((error as GpuError).message, route).toContain('app buffer (destroyed)');
    }
    expect(await rejection(outputs['sdpa mask'].read())).toBe(original);
    bad.forEach((b) => b.cleanup());
  });
});

describe('a pipeline that cannot compile', () => {
  const tooBig = () => attn.device.limits.maxComputeInvocationsPerWorkgroup * 2;

  it('is a GpuError labelled with its entry point and overrides, is not cached, and is tried again', async () => {
    const cache = attn.runtime.pipelines;
    const before = cache.size;
    const bad = cache.get(SHADERS.sdpaNaive, 'sdpa_naive_head_mean', { WORKGROUP_SIZE: tooBig() });
    const error = await rejection(bad.compiled);
    expect(error).toBeInstanceOf(GpuError);
    expect((error as GpuError).label).toBe(`sdpa_naive_head_mean[WORKGROUP_SIZE=${tooBig()}]`);
    expect((error as GpuError).message).toMatch(/workgroup/i);
    expect(cache.size, 'the failed pipeline left the cache').toBe(before);
    const retried = cache.get(SHADERS.sdpaNaive, 'sdpa_naive_head_mean', { WORKGROUP_SIZE: tooBig() });
    expect(retried, 'a new compile, not the failed one').not.toBe(bad);
    await rejection(retried.compiled);
    const good = cache.get(SHADERS.sdpaNaive, 'sdpa_naive_head_mean', { WORKGROUP_SIZE: 64 });
    await good.compiled;
    expect(cache.size).toBe(before + 1);
  });

  it('reaches the op’s read, and the next call compiles and computes', async () => {
    const [x, w] = [random(5 * 8, 'cx'), random(3 * 8, 'cw')];
    const [tx, tw] = [attn.tensor(x, [5, 8]), attn.tensor(w, [3, 8])];
    const cache = attn.runtime.pipelines;
    const before = cache.size;
    const get = cache.get.bind(cache);
    vi.spyOn(cache, 'get').mockImplementation((shader, entry, overrides) =>
      get(shader, entry, { ...overrides, WORKGROUP_SIZE: tooBig() }),
    );
    const y = attn.linear(tx, tw);
    vi.restoreAllMocks();
    const error = await rejection(y.read());
    expect(error).toBeInstanceOf(GpuError);
    expect((error as GpuError).label).toMatch(new RegExp(`^linear_matmul\\[.*WORKGROUP_SIZE=${tooBig()}`));
    expect(cache.size).toBe(before);
    const again = attn.linear(tx, tw);
    const r = compareArrays(await again.read(), reference.linear(host(x, [5, 8]), host(w, [3, 8])).data);
    expect(r.ok, r.message).toBe(true);
    [tx, tw, y, again].forEach((t) => t.destroy());
  });
});

describe('a device lost during work', () => {
  it('rejects the reads in flight and the calls made meanwhile with DeviceLostError, and refuses later calls', async () => {
    const own = await (await (await nodeGpu()).requestAdapter())!.requestDevice();
    const ctx = await createAttention({ device: own });
    const shape = [1, 4, 64, 32];
    const q = ctx.tensor(random(size(shape), 'lost q'), shape);
    const out = ctx.sdpa(q, q, q, { causal: true });
    const reads = [out.read(), q.read()].map(rejection);
    own.destroy();
    const during = ctx.linear(ctx.tensor(random(8, 'lx'), [2, 4]), ctx.tensor(random(12, 'lw'), [3, 4]));
    const errors = await Promise.all([...reads, rejection(during.read())]);
    for (const error of errors) expect(error).toBeInstanceOf(DeviceLostError);
    await own.lost;
    expect(ctx.alive).toBe(false);
    expect(await rejection(q.read())).toBeInstanceOf(DeviceLostError);
    expect(() => ctx.sdpa(q, q, q)).toThrow(DeviceLostError);
    expect(() => ctx.sdpaNaive(q, q, q)).toThrow(DeviceLostError);
    expect(() => ctx.neighborhood1d(q, q, q, { kernel: 3 })).toThrow(DeviceLostError);
    expect(() => ctx.tensor([1], [1])).toThrow(DeviceLostError);
    expect(() => ctx.mask([1], [1])).toThrow(DeviceLostError);
    ctx.destroy();
  });
});
