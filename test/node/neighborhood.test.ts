/**
 * Node GPU ring for neighbourhood attention: shaders/local.wgsl through Dawn (SwiftShader without a
 * GPU) against the float64 reference, plus bad input (nothing enqueued) and random cases.
 * Pipelines compile slowly on SwiftShader (seconds each, growing with workgroup memory), so the
 * cases share few kernel sizes and flags.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttention, type AttentionContext, type GpuTensor, type HostTensor } from '../../src/index';
import {
  caseInputs,
  localCaseOptions,
  localExpected,
  LOCAL_CASES,
  LOCAL_MAP,
  size,
  type LocalCase,
} from '../local-cases';
import { compareArrays } from '../helpers/compare';
import { nodeGpu } from '../helpers/node-gpu';
import { expectRejectedOn } from '../helpers/rejections';

let gpu: GPU;
let attn: AttentionContext;
beforeAll(async () => {
  gpu = await nodeGpu();
  attn = await createAttention({ gpu });
});
afterAll(() => attn?.destroy());

async function runGpu(
  c: LocalCase,
  inputs: ReturnType<typeof caseInputs>,
): Promise<{ data: Float32Array; shape: readonly number[] }> {
  const up = (t: HostTensor) => attn.tensor(t.data as Float32Array, [...t.shape], { dtype: c.f16 ? 'f16' : 'f32' });
  const [q, k, v] = [up(inputs.q), up(inputs.k), up(inputs.v)];
  const rpb = inputs.rpb ? up(inputs.rpb) : undefined;
  const run = c.rank === 1 ? attn.neighborhood1d.bind(attn) : attn.neighborhood2d.bind(attn);
  try {
    const out = run(q, k, v, localCaseOptions(c, rpb));
    const data = await out.read();
    out.destroy();
    return { data, shape: out.shape };
  } finally {
    [q, k, v, rpb].forEach((t) => t?.destroy());
  }
}

async function check(c: LocalCase): Promise<void> {
  const inputs = caseInputs(c);
  const want = localExpected(c, inputs);
  const got = await runGpu(c, inputs);
  expect(got.shape).toEqual(want.shape);
  const r = compareArrays(got.data, want.data);
  expect(r.ok, `${c.name}: ${r.message}`).toBe(true);
  expect(attn.stats.liveBuffers, 'every buffer is back in the pool').toBe(0);
}

describe('neighbourhood attention vs reference', () => {
  for (const c of LOCAL_CASES) it(c.name, () => check(c));
});

describe('neighbourhood attention, special set-ups', () => {
  it("k=13, D = Dv = 256 on a device with WebGPU's default limits (16 KiB of workgroup storage)", async () => {
    const adapter = await gpu.requestAdapter();
    const device = await adapter!.requestDevice();
    expect(device.limits.maxComputeWorkgroupStorageSize).toBe(16384);
    const small = await createAttention({ device, gpu });
    const c: LocalCase = {
      ...LOCAL_MAP,
      name: 'k=13 D=256 default limits',
      Y: 13,
      X: 13,
      D: 256,
      Dv: 256,
      kernel: 13,
      rpb: true,
    };
    const inputs = caseInputs(c);
    const up = (t: HostTensor) => small.tensor(t.data as Float32Array, [...t.shape]);
    const out = small.neighborhood2d(up(inputs.q), up(inputs.k), up(inputs.v), { kernel: 13, rpb: up(inputs.rpb!) });
    const r = compareArrays(await out.read(), localExpected(c, inputs).data);
    expect(r.ok, r.message).toBe(true);
    small.destroy();
    device.destroy();
  });

  it('tensors wrapped at element offsets inside one buffer', async () => {
    const c: LocalCase = {
      ...LOCAL_MAP,
      name: 'wrapped 5×6 k=3 dilation [1, 2] rpb Hq=2 D=5 Dv=3',
      Y: 5,
      X: 6,
      Hq: 2,
      D: 5,
      Dv: 3,
      kernel: 3,
      dilation: [1, 2],
      rpb: true,
    };
    const inputs = caseInputs(c);
    const parts = [inputs.q, inputs.k, inputs.v, inputs.rpb!];
    const offsets: number[] = [];
    let at = 3; // elements: the first tensor starts off any binding alignment
    for (const p of parts) {
      offsets.push(at);
      at += p.data.length + 5;
    }
    const buffer = attn.device.createBuffer({ size: at * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    const all = new Float32Array(at);
    parts.forEach((p, i) => all.set(p.data as Float32Array, offsets[i]));
    attn.device.queue.writeBuffer(buffer, 0, all);
    const [q, k, v, rpb] = parts.map(
      (p, i) => attn.wrap(buffer, [...p.shape], { offset: offsets[i] * 4 }) as GpuTensor,
    );
    const out = attn.neighborhood2d(q, k, v, { kernel: 3, dilation: [1, 2], rpb });
    const r = compareArrays(await out.read(), localExpected(c, inputs).data);
    expect(r.ok, r.message).toBe(true);
    out.destroy();
    buffer.destroy();
    expect(attn.stats.liveBuffers).toBe(0);
  });
});

const randomCase: fc.Arbitrary<LocalCase> = fc
  .record({
    rank: fc.constantFrom(1 as const, 2 as const),
    kernel: fc.constantFrom(3, 5),
    dy: fc.integer({ min: 1, max: 2 }),
    dx: fc.integer({ min: 1, max: 3 }),
    extraY: fc.integer({ min: 0, max: 4 }),
    extraX: fc.integer({ min: 0, max: 9 }),
    cy: fc.boolean(),
    cx: fc.boolean(),
    rpb: fc.boolean(),
    channelsLast: fc.boolean(),
    B: fc.integer({ min: 1, max: 2 }),
    Hkv: fc.integer({ min: 1, max: 2 }),
    group: fc.constantFrom(1, 2),
    D: fc.constantFrom(4, 7),
    Dv: fc.constantFrom(4, 6),
    seed: fc.integer({ min: 0, max: 1e6 }),
  })
  .map((r) => {
    const Y = r.rank === 1 ? 1 : r.kernel * r.dy + r.extraY;
    const X = r.kernel * r.dx + r.extraX;
    const kernel: LocalCase['kernel'] = r.rank === 1 ? r.kernel : [r.kernel, r.kernel];
    return {
      name: `random seed=${r.seed} ${r.rank}-D ${Y}×${X} k=${r.kernel} d=[${r.dy}, ${r.dx}] causal=[${r.cy}, ${r.cx}] rpb=${r.rpb} channelsLast=${r.channelsLast} B=${r.B} Hq=${r.Hkv * r.group} Hkv=${r.Hkv} D=${r.D} Dv=${r.Dv}`,
      rank: r.rank,
      B: r.B,
      Hq: r.Hkv * r.group,
      Hkv: r.Hkv,
      Y,
      X,
      D: r.D,
      Dv: r.Dv,
      kernel,
      dilation: r.rank === 1 ? r.dx : [r.dy, r.dx],
      causal: r.rank === 1 ? r.cx : [r.cy, r.cx],
      rpb: r.rpb,
      channelsLast: r.channelsLast,
    } satisfies LocalCase;
  });

it('random shapes and options match the reference', async () => {
  await fc.assert(
    fc.asyncProperty(randomCase, (c) => check(c)),
    { numRuns: 8, seed: 20261124 },
  );
});

describe('neighbourhood attention rejects bad input, enqueuing nothing', () => {
  const t = (shape: number[]) => attn.tensor(new Float32Array(size(shape)), shape);

  it('shapes, kernel, dilation, rpb, layout, tensors', () => {
    const [q, k, v, q4, rpb33, seq, big] = [
      t([1, 4, 5, 6, 8]),
      t([1, 2, 5, 6, 8]),
      t([1, 2, 5, 6, 3]),
      t([1, 4, 5, 8]),
      t([4, 3, 3]),
      t([1, 2, 9]),
      t([1, 1, 41, 41, 1]),
    ];
    const mask = attn.mask(new Uint8Array(240), [1, 4, 5, 6, 2]) as unknown as GpuTensor;
    const dead = t([1, 2, 5, 6, 3]);
    dead.destroy();
    const hostRpb = { data: new Float32Array(100), shape: [4, 5, 5] } as unknown as GpuTensor;
    expectRejectedOn(attn, () => attn.neighborhood2d(q4, k, v, { kernel: 3 }), 'q', '5 positive integers');
    expectRejectedOn(attn, () => attn.neighborhood2d(q, k, v, { kernel: 2 }), 'options.kernel', 'odd');
    expectRejectedOn(
      attn,
      () => attn.neighborhood2d(q, k, v, { kernel: 3, dilation: 2 }),
      'options.kernel',
      'y axis of length 5',
      'dilation 2',
    );
    expectRejectedOn(attn, () => attn.neighborhood2d(q, k, v, { kernel: 3, dilation: -1 }), 'options.dilation', '-1');
    expectRejectedOn(
      attn,
      () => attn.neighborhood2d(q, k, v, { kernel: 3, rpb: rpb33 }),
      'options.rpb',
      'expected shape [4, 5, 5]',
    );
    expectRejectedOn(attn, () => attn.neighborhood2d(q, k, v, { kernel: 3, rpb: hostRpb }), 'options.rpb', 'GpuTensor');
    expectRejectedOn(
      attn,
      () => attn.neighborhood2d(q, k, v, { kernel: 3, layout: 'bshd' as 'bhyxd' }),
      'options.layout',
      "'bshd'",
    );
    expectRejectedOn(
      attn,
      () => attn.neighborhood2d(q, k, v, { kernel: 3, causal: 1 as unknown as boolean }),
      'options.causal',
      '1',
    );
    expectRejectedOn(attn, () => attn.neighborhood2d(q, k, v, { kernel: 3, scale: -2 }), 'options.scale', '-2');
    expectRejectedOn(attn, () => attn.neighborhood1d(seq, seq, seq, { kernel: 3 }), 'q', '4 positive integers');
    expectRejectedOn(attn, () => attn.neighborhood2d(mask, k, v, { kernel: 3 }), 'q', 'GpuMask');
    expectRejectedOn(attn, () => attn.neighborhood2d(q, k, dead, { kernel: 3 }), 'v', 'destroyed');
    // Valid for the shapes, but no configuration of the kernel fits the device's workgroup storage.
    expectRejectedOn(
      attn,
      () => attn.neighborhood2d(big, big, big, { kernel: 41 }),
      'options.kernel',
      'kernel 41×41',
      'bytes of workgroup storage',
    );
    [q, k, v, q4, rpb33, seq, big, mask].forEach((x) => x.destroy());
    expect(attn.stats.liveBuffers).toBe(0);
  });
});
