/**
 * Decoding through the flash kernel: grouped-query rows packed per kv head and split-K (flash
 * decoding) with its merge pass, against the float64 reference. Every case runs three ways: the
 * planned split, no split (kvSplits 1) and an awkward forced split (7), which must agree.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAttention,
  reference,
  type AttentionContext,
  type GpuMask,
  type GpuTensor,
  type HostTensor,
  type SdpaOptions,
} from '../../src/index';
import { planSdpa } from '../../src/ops/sdpa/plan';
import { rng } from '../cases';
import { compareArrays } from '../helpers/compare';
import { nodeGpu } from '../helpers/node-gpu';

let attn: AttentionContext;
beforeAll(async () => {
  attn = await createAttention({ gpu: await nodeGpu() });
});
afterAll(() => attn?.destroy());

interface DecodeCase {
  name: string;
  B: number;
  Hq: number;
  Hkv: number;
  Lq: number;
  Lk: number;
  D: number;
  options?: Omit<SdpaOptions, 'mask' | 'tile'>;
  /** A mask [B, 1, Lq, Lk] built from (b, i, j): a float, or a boolean when `maskKind` is 'bool'. */
  mask?: (b: number, i: number, j: number) => number;
  maskKind?: 'float' | 'bool';
  /** Edits the host data before the run (e.g. a NaN in v). */
  edit?: (data: { q: Float32Array; k: Float32Array; v: Float32Array }) => void;
}

const decodeCausal = { causal: true, alignment: 'lower-right', returnLse: true } as const;

const CASES: DecodeCase[] = [
  { name: 'Lk=1, 32/8 heads', B: 1, Hq: 32, Hkv: 8, Lq: 1, Lk: 1, D: 64, options: decodeCausal },
  { name: 'Lk=33, 32/8 heads', B: 1, Hq: 32, Hkv: 8, Lq: 1, Lk: 33, D: 64, options: decodeCausal },
  { name: 'Lk=1000, 32/8 heads D=128', B: 1, Hq: 32, Hkv: 8, Lq: 1, Lk: 1000, D: 128, options: decodeCausal },
  { name: 'Lk=20000, 8/2 heads', B: 1, Hq: 8, Hkv: 2, Lq: 1, Lk: 20000, D: 64, options: decodeCausal },
  // One real row per kv head (no GQA): the kernel's one-row path (keys in the lanes).
  {
    name: 'Lk=3001, 8/8 heads D=40 (one row per kv head)',
    B: 2,
    Hq: 8,
    Hkv: 8,
    Lq: 1,
    Lk: 3001,
    D: 40,
    options: decodeCausal,
  },
  {
    name: 'Lk=700, 4/4 heads, window 100/0, float mask, softcap (one row per kv head)',
    B: 1,
    Hq: 4,
    Hkv: 4,
    Lq: 1,
    Lk: 700,
    D: 16,
    options: { ...decodeCausal, window: { left: 100, right: 0 }, softcap: 5 },
    mask: (_b, _i, j) => (j % 7 === 3 ? -Infinity : Math.sin(j)),
  },
  {
    name: 'a NaN in v at a removed key stays out (one row per kv head)',
    B: 1,
    Hq: 2,
    Hkv: 2,
    Lq: 1,
    Lk: 300,
    D: 8,
    options: { ...decodeCausal, window: { left: 10, right: 0 } },
    edit: ({ v }) => v.fill(NaN, 5 * 8, 6 * 8),
  },
  {
    name: 'Lq=16 Lk=4099 B=2, 8/2 heads, window 500/0',
    B: 2,
    Hq: 8,
    Hkv: 2,
    Lq: 16,
    Lk: 4099,
    D: 32,
    options: { ...decodeCausal, window: { left: 500, right: 0 } },
  },
  {
    name: 'Lq=3 Lk=2500 MQA 4/1, float mask with −∞',
    B: 1,
    Hq: 4,
    Hkv: 1,
    Lq: 3,
    Lk: 2500,
    D: 40,
    options: { returnLse: true },
    mask: (b, i, j) => (j % 97 === i ? -Infinity : Math.sin(j + i)),
  },
  {
    name: 'Lq=2 Lk=1500 boolean mask and global tokens',
    B: 1,
    Hq: 6,
    Hkv: 3,
    Lq: 2,
    Lk: 1500,
    D: 16,
    options: { ...decodeCausal, window: { left: 64, right: 0 }, globalTokens: [0, 5, 900] },
    mask: (b, i, j) => Number(j % 5 !== 3),
    maskKind: 'bool',
  },
  {
    name: 'Lq=1 Lk=3000 softcap, bshd',
    B: 1,
    Hq: 8,
    Hkv: 4,
    Lq: 1,
    Lk: 3000,
    D: 64,
    options: { softcap: 5, scale: 0.5, layout: 'bshd', returnLse: true },
  },
  {
    name: 'Lq=16 Lk=5 lower-right causal: rows with no key',
    B: 1,
    Hq: 4,
    Hkv: 2,
    Lq: 16,
    Lk: 5,
    D: 8,
    options: decodeCausal,
  },
  {
    name: 'a NaN in v at key 1234 reaches the row through the merge',
    B: 1,
    Hq: 4,
    Hkv: 2,
    Lq: 1,
    Lk: 2000,
    D: 8,
    options: decodeCausal,
    edit: ({ v }) => v.fill(NaN, 1234 * 8, 1234 * 8 + 1),
  },
];

function hostData(c: DecodeCase) {
  const random = rng(c.name);
  const filled = (n: number) => Float32Array.from({ length: n }, () => random() * 2 - 1);
  const data = {
    q: filled(c.B * c.Hq * c.Lq * c.D),
    k: filled(c.B * c.Hkv * c.Lk * c.D),
    v: filled(c.B * c.Hkv * c.Lk * c.D),
  };
  c.edit?.(data);
  const bshd = c.options?.layout === 'bshd';
  const shape = (H: number, L: number) => (bshd ? [c.B, L, H, c.D] : [c.B, H, L, c.D]);
  const host = (d: Float32Array, s: number[]): HostTensor => ({ data: d, shape: s });
  let mask: HostTensor | undefined;
  if (c.mask) {
    const values = Array.from({ length: c.B * c.Lq * c.Lk }, (_, n) =>
      c.mask!(Math.floor(n / (c.Lq * c.Lk)), Math.floor(n / c.Lk) % c.Lq, n % c.Lk),
    );
    const data = c.maskKind === 'bool' ? Uint8Array.from(values) : Float32Array.from(values);
    mask = { data, shape: [c.B, 1, c.Lq, c.Lk] };
  }
  return {
    q: host(data.q, shape(c.Hq, c.Lq)),
    k: host(data.k, shape(c.Hkv, c.Lk)),
    v: host(data.v, shape(c.Hkv, c.Lk)),
    mask,
  };
}

describe('decoding: packed grouped-query rows and split-K against the reference', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const h = hostData(c);
      const expected = reference.sdpa(h.q, h.k, h.v, { ...c.options, mask: h.mask, returnLse: true });
      const up = (t: HostTensor) => attn.tensor(t.data as Float32Array, t.shape);
      const [q, k, v] = [up(h.q), up(h.k), up(h.v)];
      const mask: GpuTensor | GpuMask | undefined = h.mask
        ? h.mask.data instanceof Uint8Array
          ? attn.mask(h.mask.data, h.mask.shape)
          : up(h.mask)
        : undefined;
      const dims = { B: c.B, Hq: c.Hq, Hkv: c.Hkv, Lq: c.Lq, Lk: c.Lk, D: c.D, Dv: c.D };
      const planned = planSdpa(dims, attn.device.limits);
      const tiles = [undefined, { ...planned.tile, kvSplits: 1 }, { ...planned.tile, kvSplits: 7 }];
      try {
        for (const tile of tiles) {
          const r = attn.sdpa(q, k, v, { ...c.options, mask, tile, returnLse: true });
          const how = tile ? `kvSplits ${tile.kvSplits}` : `planned (${planned.kvSplits} splits)`;
          const output = compareArrays(await r.output.read(), expected.output.data);
          expect(output.ok, `${how} output: ${output.message}`).toBe(true);
          const lse = compareArrays(await r.lse.read(), expected.lse.data);
          expect(lse.ok, `${how} lse: ${lse.message}`).toBe(true);
          r.output.destroy();
          r.lse.destroy();
        }
      } finally {
        [q, k, v, mask].forEach((t) => t?.destroy());
      }
      expect(attn.stats.liveBuffers).toBe(0);
    });
  }

  it('plans a split for long decodes and none for prefill', () => {
    const decode = planSdpa({ B: 1, Hq: 32, Hkv: 8, Lq: 1, Lk: 20000, D: 128, Dv: 128 }, attn.device.limits);
    expect(decode.kvSplits).toBeGreaterThan(1);
    expect(decode.tile.blockQ).toBe(4); // the 4 query heads of each kv head in one block
    const prefill = planSdpa({ B: 1, Hq: 32, Hkv: 8, Lq: 2048, Lk: 2048, D: 128, Dv: 128 }, attn.device.limits);
    expect(prefill.kvSplits).toBe(1);
  });
});
