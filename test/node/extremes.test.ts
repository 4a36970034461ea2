/**
 * Extreme values against the reference (docs/semantics.md §3–4): finite masks of any magnitude are
 * added (torch.finfo(float32).min padding, ±1e30), only −∞ and the structural rules remove a key,
 * NaN and ±∞ in q, k, v or a float mask propagate exactly where the reference puts them, window
 * reaches past the sequence mean unbounded, and scales float32 cannot hold are refused up front.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAttention,
  reference,
  type AttentionContext,
  type GpuTensor,
  type HostTensor,
  type ReferenceSdpaOptions,
  type SdpaOptions,
} from '../../src/index';
import { rng } from '../cases';
import { compareArrays } from '../helpers/compare';
import { nodeGpu } from '../helpers/node-gpu';
import { expectRejectedOn } from '../helpers/rejections';

const FINFO_MIN = -3.4028234663852886e38;
let attn: AttentionContext;
beforeAll(async () => {
  attn = await createAttention({ gpu: await nodeGpu() });
});
afterAll(() => attn?.destroy());

function host(name: string, shape: number[], edit?: (data: Float32Array) => void): HostTensor {
  const random = rng(name);
  const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random() * 2 - 1);
  edit?.(data);
  return { data, shape };
}

function expectClose(part: string, actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  const r = compareArrays(actual, expected);
  expect(r.ok, `${part}: ${r.message}`).toBe(true);
}

interface Inputs {
  q: HostTensor;
  k: HostTensor;
  v: HostTensor;
  mask?: HostTensor;
}

/** Runs the flash and the naive kernel on `inputs` and checks output, lse and weights against the reference. */
async function expectBothKernels(inputs: Inputs, options: Omit<SdpaOptions, 'mask'> = {}): Promise<Float64Array> {
  const up = (t: HostTensor) =>
    t.data instanceof Uint8Array ? attn.mask(t.data, t.shape) : attn.tensor(t.data as Float32Array, t.shape);
  const [q, k, v] = [up(inputs.q), up(inputs.k), up(inputs.v)] as GpuTensor[];
  const mask = inputs.mask && up(inputs.mask);
  const refOptions = { ...options, mask: inputs.mask, returnLse: true, returnWeights: true } as ReferenceSdpaOptions;
  const expected = reference.sdpa(inputs.q, inputs.k, inputs.v, refOptions as never) as {
    output: { data: Float64Array };
    lse: { data: Float64Array };
    weights: { data: Float64Array };
  };
  const flash = attn.sdpa(q, k, v, { ...options, mask, returnLse: true });
  const naive = attn.sdpaNaive(q, k, v, { ...options, mask, returnLse: true, returnWeights: true });
  try {
    expectClose('flash output', await flash.output.read(), expected.output.data);
    expectClose('flash lse', await flash.lse.read(), expected.lse.data);
    expectClose('naive output', await naive.output.read(), expected.output.data);
    expectClose('naive lse', await naive.lse!.read(), expected.lse.data);
    expectClose('naive weights', await naive.weights!.read(), expected.weights.data);
  } finally {
    for (const t of [q, k, v, mask, flash.output, flash.lse, naive.output, naive.lse, naive.weights]) t?.destroy();
  }
  expect(attn.stats.liveBuffers).toBe(0);
  return expected.output.data;
}

const shapes = { q: [1, 2, 5, 4], k: [1, 2, 7, 4], v: [1, 2, 7, 3] };
const plain = (seed: string): Inputs => ({
  q: host(`${seed} q`, shapes.q),
  k: host(`${seed} k`, shapes.k),
  v: host(`${seed} v`, shapes.v),
});

describe('finite masks of any magnitude are added, not treated as −∞', () => {
  it('torch.finfo(float32).min on every key of a row gives the mean of V, not zeros', async () => {
    const mask = host('finfo mask', [1, 1, 5, 7], (d) => d.fill(0).fill(FINFO_MIN, 7, 14)); // row 1 all finfo.min
    const out = await expectBothKernels({ ...plain('finfo'), mask });
    expect(Array.from(out.slice(3, 6)).every((x) => x !== 0)).toBe(true);
  });

  it('finfo.min padding of the last keys (Hugging Face style), with causal in both alignments', async () => {
    const mask = host('pad mask', [1, 1, 1, 7], (d) => d.fill(0).fill(FINFO_MIN, 4));
    await expectBothKernels({ ...plain('pad'), mask }, { causal: true });
    await expectBothKernels({ ...plain('pad'), mask }, { causal: true, alignment: 'lower-right' });
  });

  it('±1e30, ±1e4 and finfo.min mixed in one mask, with softcap', async () => {
    const values = [1e30, -1e30, 1e4, -1e4, FINFO_MIN, 0, 3.4e38];
    const mask = host('mixed mask', [1, 2, 5, 7], (d) => d.forEach((_, i) => (d[i] = values[(i * 5) % 7])));
    await expectBothKernels({ ...plain('mixed'), mask });
    await expectBothKernels({ ...plain('mixed'), mask }, { softcap: 20 });
  });
});

describe('NaN and ±∞ in an input propagate where the reference puts them', () => {
  const at = (index: number, value: number) => (d: Float32Array) => {
    d[index] = value;
  };
  for (const value of [NaN, Infinity, -Infinity]) {
    for (const input of ['q', 'k', 'v'] as const) {
      it(`${value} in ${input}, with and without causal`, async () => {
        const inputs = plain(`nan ${input}`);
        // Element 9 of q is row 2; of k, key 2; of v, key 3 (of head 0).
        inputs[input] = host(`nan ${input}`, shapes[input], at(9, value));
        await expectBothKernels(inputs);
        await expectBothKernels(inputs, { causal: true }); // rows before the key never see it
      });
    }
    it(`${value} in a float mask; a key a boolean mask removes holds ${value} in k and v`, async () => {
      const mask = host('nan mask', [5, 7], at(10, value));
      await expectBothKernels({ ...plain('nan mask'), mask });
      const removed = plain('removed nan');
      removed.k = host('removed k', shapes.k, at(4 * 6, value)); // key 6 of head 0
      removed.v = host('removed v', shapes.v, at(3 * 6, value));
      const bool = { data: Uint8Array.from({ length: 35 }, (_, i) => Number(i % 7 !== 6)), shape: [5, 7] };
      const out = await expectBothKernels({ ...removed, mask: bool });
      expect(out.every(Number.isFinite)).toBe(true);
    });
  }

  it('neighbourhood attention: NaN in k reaches exactly the queries that see it; an rpb of −∞ removes a key', async () => {
    const q = host('local q', [1, 2, 9, 4]);
    const k = host('local k', [1, 2, 9, 4], at(4 * 4, NaN)); // position 4 of head 0
    const v = host('local v', [1, 2, 9, 3]);
    const rpb = host('local rpb', [2, 9], (d) => d.fill(-Infinity, 0, 1));
    const options = { kernel: 5, dilation: 1 };
    const expected = reference.neighborhood1d(q, k, v, { ...options, rpb });
    const tensors = [q, k, v, rpb].map((t) => attn.tensor(t.data as Float32Array, t.shape));
    const out = attn.neighborhood1d(tensors[0], tensors[1], tensors[2], { ...options, rpb: tensors[3] });
    const actual = await out.read();
    expectClose('output', actual, expected.data);
    expect(Array.from(expected.data).some(Number.isNaN) && Array.from(expected.data).some(Number.isFinite)).toBe(true);
    [...tensors, out].forEach((t) => t.destroy());
  });
});

describe('bounds: values that reach a uniform', () => {
  it('a window reach past the sequence is unbounded (no i32 overflow), a dilation past it leaves each query itself', async () => {
    const inputs = plain('reach');
    const full = await expectBothKernels(inputs);
    for (const right of [2147483647, 1e12]) {
      expectClose(`right ${right}`, await expectBothKernels(inputs, { window: { left: -1, right } }), full);
    }
    const self = await expectBothKernels(inputs, { window: { left: 0, right: 0 } });
    expectClose('dilation 2^40', await expectBothKernels(inputs, { dilation: 2 ** 40 }), self);
  });

  it('a scale or softcap that float32 cannot hold is refused before anything is taken', () => {
    const q = attn.tensor(host('bound q', shapes.q).data as Float32Array, shapes.q);
    expectRejectedOn(attn, () => attn.sdpa(q, q, q, { scale: 1e39 }), 'options.scale', 'float32');
    expectRejectedOn(attn, () => attn.sdpaNaive(q, q, q, { softcap: 1e39 }), 'options.softcap', 'float32');
    expectRejectedOn(attn, () => attn.sdpa(q, q, q, { scale: 1e30, softcap: 1e-10 }), 'options.softcap');
    q.destroy();
  });
});
