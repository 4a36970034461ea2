/**
 * The table of named multi-head-attention cases shared by the Node GPU ring
 * (test/node/multi-head.test.ts) and the browser ring (test/browser/page/main.ts), with host
 * weights, inputs and options deterministic from the case name, and the float64 reference's answer.
 * Small sizes and few distinct head dims and flags: each new set compiles pipelines on SwiftShader.
 */
import { reference, type HostResult, type HostTensor, type ReferenceMhaConfig, type RotaryOptions } from '../src/index';
import { rng } from './cases';
import { roundF16 } from '../src/contract/f16';

/** Layer sizes: embedDim, heads, kv heads, head dim, key and value widths (cross-attention). */
export interface MhaSizes {
  E: number;
  H: number;
  Hkv?: number;
  hd?: number;
  kdim?: number;
  vdim?: number;
}

/** One named case: a layer (sizes, weight form, rotary) and one forward call. */
export interface MhaCase extends MhaSizes {
  name: string;
  B: number;
  L: number;
  /** Cross-attention from Lk keys (key [B, Lk, kdim], value [B, Lk, vdim]); absent: self-attention. */
  Lk?: number;
  /** inProj/outProj (torch.nn.MultiheadAttention) rather than q/k/v/o. */
  packed: boolean;
  bias: boolean;
  rotary?: RotaryOptions;
  causal?: boolean;
  alignment?: 'upper-left' | 'lower-right';
  /** keyPaddingMask [B, Lk]: batch b pads its last 2 + 2·b keys. */
  padding?: boolean;
  /** A boolean mask [B, 1, L, Lk] (keys j with (i·Lk + j) % 3 = 1 removed). */
  boolMask?: boolean;
  needWeights?: 'averaged' | 'per head';
  /** Every float input (weights, biases, x, key, value) stored as f16: its host data rounded to f16 first. */
  f16?: boolean;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Uniform in (−scale, scale), deterministic from `seed`. */
export function random(seed: string, shape: number[], scale = 1): HostTensor & { data: Float32Array } {
  const next = rng(seed);
  return { data: Float32Array.from({ length: size(shape) }, () => scale * (2 * next() - 1)), shape };
}

/** Weights in nn.Linear layout, scaled by 1/√in so activations stay O(1); packed = inProj/outProj. */
export function hostWeights(seed: string, s: MhaSizes, packed: boolean, bias: boolean): Record<string, HostTensor> {
  const hd = s.hd ?? s.E / s.H;
  const [q, kv] = [s.H * hd, (s.Hkv ?? s.H) * hd];
  const w = (name: string, rows: number, cols: number) => random(`${seed} ${name}`, [rows, cols], 1 / Math.sqrt(cols));
  const b = (name: string, rows: number) => random(`${seed} ${name}`, [rows], 0.5);
  if (packed) {
    return {
      inProj: w('in', q + 2 * kv, s.E),
      outProj: w('out', s.E, q),
      ...(bias ? { inProjBias: b('inb', q + 2 * kv), outProjBias: b('outb', s.E) } : {}),
    };
  }
  const out: Record<string, HostTensor> = {
    q: w('q', q, s.E),
    k: w('k', kv, s.kdim ?? s.E),
    v: w('v', kv, s.vdim ?? s.E),
    o: w('o', s.E, q),
  };
  if (bias) Object.assign(out, { qBias: b('qb', q), kBias: b('kb', kv), vBias: b('vb', kv), oBias: b('ob', s.E) });
  return out;
}

/** Separate weights holding the same rows as packed ones. */
export function unpack(w: Record<string, HostTensor>, s: MhaSizes): Record<string, HostTensor> {
  const hd = s.E / s.H;
  const [q, kv] = [s.H * hd, (s.Hkv ?? s.H) * hd];
  const rows = (t: HostTensor, from: number, n: number, width: number): HostTensor => ({
    data: (t.data as Float32Array).slice(from * width, (from + n) * width),
    shape: width === 1 ? [n] : [n, width],
  });
  const out: Record<string, HostTensor> = {
    q: rows(w.inProj, 0, q, s.E),
    k: rows(w.inProj, q, kv, s.E),
    v: rows(w.inProj, q + kv, kv, s.E),
    o: w.outProj,
  };
  if (w.inProjBias)
    Object.assign(out, {
      qBias: rows(w.inProjBias, 0, q, 1),
      kBias: rows(w.inProjBias, q, kv, 1),
      vBias: rows(w.inProjBias, q + kv, kv, 1),
      oBias: w.outProjBias,
    });
  return out;
}

/** keyPaddingMask [B, Lk], 1 = padding: batch b pads its last 2 + 2·b keys. */
export function paddingMask(B: number, Lk: number): HostTensor {
  return {
    data: Uint8Array.from({ length: B * Lk }, (_, i) => Number(i % Lk >= Lk - 2 - 2 * Math.floor(i / Lk))),
    shape: [B, Lk],
  };
}

/** Forward options with host tensors (Uint8Array data = boolean). */
export type MhaHostOptions = Record<string, HostTensor | boolean | string | undefined>;

/** The layer config (host weights), x and forward options of a case, deterministic from its name. */
export function mhaCaseInputs(c: MhaCase): { config: ReferenceMhaConfig; x: HostTensor; options: MhaHostOptions } {
  const stored = <T extends HostTensor>(t: T): T =>
    c.f16 && t.data instanceof Float32Array ? { ...t, data: t.data.map(roundF16) } : t;
  const weights = Object.fromEntries(
    Object.entries(hostWeights(c.name, c, c.packed, c.bias)).map(([name, t]) => [name, stored(t)]),
  );
  const config = {
    embedDim: c.E,
    numHeads: c.H,
    numKvHeads: c.Hkv,
    headDim: c.hd,
    kdim: c.kdim,
    vdim: c.vdim,
    rotary: c.rotary,
    weights,
  } as unknown as ReferenceMhaConfig;
  const Lk = c.Lk ?? c.L;
  const options: MhaHostOptions = { causal: c.causal, alignment: c.alignment };
  if (c.Lk !== undefined)
    Object.assign(options, {
      key: stored(random(`${c.name} key`, [c.B, Lk, c.kdim ?? c.E])),
      value: stored(random(`${c.name} value`, [c.B, Lk, c.vdim ?? c.E])),
    });
  if (c.padding) options.keyPaddingMask = paddingMask(c.B, Lk);
  if (c.boolMask)
    options.mask = {
      data: Uint8Array.from({ length: c.B * c.L * Lk }, (_, i) => Number(i % 3 !== 1)),
      shape: [c.B, 1, c.L, Lk],
    };
  // 'averaged' leaves averageHeads to its default (true, as PyTorch).
  if (c.needWeights)
    Object.assign(options, { needWeights: true, averageHeads: c.needWeights === 'per head' ? false : undefined });
  return { config, x: stored(random(`${c.name} x`, [c.B, c.L, c.E])), options };
}

/** The float64 reference's output, and weights when the case asks for them. */
export function mhaExpected(inputs: ReturnType<typeof mhaCaseInputs>): { output: HostResult; weights?: HostResult } {
  const r = reference.multiHeadAttention(inputs.config).forward(inputs.x, inputs.options as never);
  return 'weights' in r ? r : { output: r };
}

const GQA = { E: 64, H: 8, Hkv: 2, B: 2, L: 7 };
export const MHA_CASES: MhaCase[] = [
  {
    name: 'E=8 H=2 Hkv=1 (multi-query) packed bias self B=2 L=5',
    E: 8,
    H: 2,
    Hkv: 1,
    B: 2,
    L: 5,
    packed: true,
    bias: true,
  },
  {
    name: 'E=64 H=8 Hkv=2 (grouped-query) separate no bias causal B=2 L=7',
    ...GQA,
    packed: false,
    bias: false,
    causal: true,
  },
  {
    name: 'E=96 H=12 cross kdim=40 vdim=24 separate bias B=2 L=5 Lk=9',
    E: 96,
    H: 12,
    kdim: 40,
    vdim: 24,
    B: 2,
    L: 5,
    Lk: 9,
    packed: false,
    bias: true,
  },
  { name: 'E=64 H=1 (head dim 64) packed bias self B=2 L=5', E: 64, H: 1, B: 2, L: 5, packed: true, bias: true },
  {
    name: 'E=64 H=8 Hkv=2 packed cross causal lower-right B=2 L=5 Lk=9',
    ...GQA,
    L: 5,
    Lk: 9,
    packed: true,
    bias: true,
    causal: true,
    alignment: 'lower-right',
  },
  {
    name: 'E=64 H=8 Hkv=2 rotary NeoX dim=4 offset=5 packed causal',
    ...GQA,
    packed: true,
    bias: true,
    causal: true,
    rotary: { dim: 4, positionOffset: 5 },
  },
  {
    name: 'E=64 H=8 Hkv=2 rotary GPT-J dim=6 offset=3 base=100 separate',
    ...GQA,
    packed: false,
    bias: true,
    rotary: { dim: 6, interleaved: true, positionOffset: 3, base: 100 },
  },
  {
    name: 'E=64 H=8 Hkv=2 keyPaddingMask causal packed',
    ...GQA,
    packed: true,
    bias: true,
    padding: true,
    causal: true,
  },
  {
    name: 'E=64 H=8 Hkv=2 keyPaddingMask boolean mask [B,1,L,L] causal packed',
    ...GQA,
    packed: true,
    bias: true,
    padding: true,
    boolMask: true,
    causal: true,
  },
  {
    name: 'E=64 H=8 Hkv=2 needWeights averaged packed B=2 L=5',
    ...GQA,
    L: 5,
    packed: true,
    bias: true,
    needWeights: 'averaged',
  },
  {
    name: 'E=64 H=8 Hkv=2 cross keyPaddingMask needWeights per head separate Lk=9',
    ...GQA,
    Lk: 9,
    packed: false,
    bias: true,
    padding: true,
    needWeights: 'per head',
  },
  {
    name: 'f16 weights, biases and inputs: E=64 H=8 Hkv=2 cross rotary separate Lk=9',
    ...GQA,
    Lk: 9,
    packed: false,
    bias: true,
    rotary: { interleaved: false },
    f16: true,
  },
];
