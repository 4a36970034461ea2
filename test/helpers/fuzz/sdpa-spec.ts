/**
 * Random valid calls of attn.sdpa / attn.sdpaNaive as small printable records (SdpaSpec), and the
 * host tensors and options each one stands for (sdpaHostCase). Four flavours of arbitrary:
 * `ordinary` (finite data, masks of ordinary values and −∞), `extreme` (float masks holding
 * finfo(float32).min, ±1e30, ±1e38, 3e38, … and −∞), `large` (float masks of ±1e3 … 1e6, such as
 * ONNX Runtime's −10000) and `nonfinite` (NaN and ±∞ poked into q, k, v or a float mask).
 */
import fc from 'fast-check';
import type { Alignment, HostTensor, Layout, ReferenceSdpaOptions, SdpaTile, SlidingWindow } from '../../../src/index';
import type { SdpaDims } from '../../../src/contract/sdpa';
import { planSdpa, TILE_PREFERENCES } from '../../../src/ops/sdpa/plan';
import { deviceLimits } from './budget';
import {
  applyPokes,
  booleans,
  EXTREME_FINITE,
  LARGE_FINITE,
  fromPalette,
  NON_FINITE,
  pokesArb,
  prng,
  seedArb,
  uniform,
  type Poke,
} from './data';

export type Flavour = 'ordinary' | 'extreme' | 'large' | 'nonfinite';
export type SdpaTensorName = 'q' | 'k' | 'v' | 'mask';

export interface MaskSpec {
  kind: 'float' | 'bool';
  /** One flag per mask dim (rank 2–4, right-aligned against [B, Hq, Lq, Lk]): the full size, or 1. */
  full: boolean[];
  /** Float masks: how values are drawn. `constant` puts `constant` everywhere. */
  fill: 'ordinary' | 'extreme' | 'large' | 'constant';
  /** Boolean: the chance of a 1. Float `ordinary`: the chance of −∞. */
  density: number;
  constant: number;
}

export interface SdpaSpec {
  B: number;
  Hkv: number;
  group: number;
  Lq: number;
  Lk: number;
  D: number;
  Dv: number;
  layout: Layout;
  causal: boolean;
  alignment: Alignment;
  scale: number | undefined;
  softcap: number | undefined;
  returnLse: boolean;
  /** Naive only. */
  returnWeights: boolean;
  mask: MaskSpec | undefined;
  window: SlidingWindow | undefined;
  dilation: number | undefined;
  /** Global token candidates; taken modulo Lk and made distinct. */
  globals: number[];
  seed: number;
  /** Amplitude of q (scores reach about amplitude·√D·scale). */
  amplitude: number;
  pokes: Poke<SdpaTensorName>[];
  /** Flash only: a forced tiling (`options.tile`), one of TILE_PREFERENCES. */
  tile: SdpaTile | undefined;
  /** Inputs in one app buffer through attn.wrap, `wrapAt` elements apart (see Scratch.uploadAll). */
  wrapAt: number | undefined;
}

/** Rarely something, usually undefined (shrinks to undefined). */
export const sometimes = <T>(arb: fc.Arbitrary<T>, weight = 1, against = 2): fc.Arbitrary<T | undefined> =>
  fc.oneof(
    { withCrossShrink: true },
    { arbitrary: fc.constant(undefined), weight: against },
    { arbitrary: arb, weight },
  );

/** Window reaches: short, past the sequence, and integers far past it (§6: the same as −1). */
const reach = fc.oneof(
  fc.integer({ min: -1, max: 6 }),
  fc.integer({ min: 7, max: 60 }),
  fc.constantFrom(2 ** 31 - 1, 1e12, 2 ** 53),
);
/** Dilations: small, and past the sequence (§6: only the query's own position is left). */
const dilationArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom(41, 2 ** 31 - 1, 1e12) },
);

export function maskArb(flavour: Flavour, required: boolean): fc.Arbitrary<MaskSpec | undefined> {
  const special = flavour === 'extreme' || flavour === 'large';
  const palette = flavour === 'large' ? LARGE_FINITE : EXTREME_FINITE;
  const spec = fc.record({
    kind: special ? fc.constant('float' as const) : fc.constantFrom('float' as const, 'bool' as const),
    full: fc.array(fc.boolean(), { minLength: 2, maxLength: 4 }),
    fill: special
      ? fc.constantFrom(flavour as 'extreme' | 'large', 'constant' as const)
      : fc.constant('ordinary' as const),
    density: fc.constantFrom(0.7, 0.3, 0, 1),
    constant: fc.constantFrom(...palette, -Infinity),
  });
  return required ? spec : sometimes(spec, 3, 2);
}

/** Valid sdpa calls of one flavour. Head dims come from a few values (bounded pipeline variants). */
export function sdpaArb(flavour: Flavour): fc.Arbitrary<SdpaSpec> {
  return fc.record({
    B: fc.integer({ min: 1, max: 2 }),
    Hkv: fc.integer({ min: 1, max: 2 }),
    group: fc.constantFrom(1, 2, 3),
    Lq: fc.integer({ min: 1, max: 40 }),
    Lk: fc.integer({ min: 1, max: 40 }),
    D: fc.constantFrom(4, 3, 8, 5, 1),
    Dv: fc.constantFrom(4, 5, 8, 2),
    layout: fc.constantFrom('bhsd' as const, 'bshd' as const),
    causal: fc.boolean(),
    alignment: fc.constantFrom('upper-left' as const, 'lower-right' as const),
    // Huge scales give huge logits: fine on their own, but next to a huge mask value float32 loses
    // their differences where float64 keeps them (the 'large' kind of disagreement), so not in 'extreme'.
    scale: sometimes(flavour === 'extreme' ? fc.constantFrom(0.5, 1e-20) : fc.constantFrom(0.5, 1, 2.5, 0.05, 1e20)),
    softcap: sometimes(fc.constantFrom(1, 5, 0.5, 30), 1, 3),
    returnLse: fc.boolean(),
    returnWeights: fc.boolean(),
    mask: maskArb(flavour, flavour === 'extreme' || flavour === 'large'),
    window: sometimes(fc.record({ left: reach, right: reach }), 1, 2),
    dilation: sometimes(dilationArb, 1, 3),
    globals: fc.uniqueArray(fc.nat({ max: 63 }), { maxLength: 3 }),
    seed: seedArb,
    amplitude: flavour === 'ordinary' ? fc.constantFrom(1, 3, 100) : fc.constant(1),
    pokes: flavour === 'nonfinite' ? pokesArb(['q', 'k', 'v', 'mask'] as const, NON_FINITE) : fc.constant([]),
    tile: sometimes(fc.constantFrom(...TILE_PREFERENCES), 1, 6),
    wrapAt: sometimes(fc.nat({ max: 70 }), 1, 4),
  });
}

/** Global tokens of a spec: distinct, inside the keys (undefined when none). */
export function globalTokens(s: Pick<SdpaSpec, 'globals' | 'Lk'>): number[] | undefined {
  const tokens = [...new Set(s.globals.map((g) => g % s.Lk))];
  return tokens.length ? tokens : undefined;
}

/**
 * Whether the kernels run their window code: a reach or a dilation that restricts anything. A reach
 * of max(Lq, Lk) or more is unbounded and a dilation is clamped to max(Lq, Lk) (§6).
 */
export function windowed(s: Pick<SdpaSpec, 'window' | 'dilation' | 'Lq' | 'Lk'>): boolean {
  const longest = Math.max(s.Lq, s.Lk);
  const d = s.dilation ?? 1;
  const bounded = (side: number) => side >= 0 && side * d < longest;
  return (s.window !== undefined && (bounded(s.window.left) || bounded(s.window.right))) || Math.min(d, longest) > 1;
}

/** The boolean overrides both attention kernels share, as a key fragment. */
export function attentionFlags(f: {
  causal: boolean;
  mask: string | undefined;
  softcap: boolean;
  lse: boolean;
  window: boolean;
  global: boolean;
  padding: boolean;
}): string {
  const b = (x: boolean) => (x ? 1 : 0);
  return `c${b(f.causal)}m${f.mask ?? '-'}s${b(f.softcap)}l${b(f.lse)}w${b(f.window)}g${b(f.global)}p${b(f.padding)}`;
}

function flagsOf(s: SdpaSpec): string {
  const window = windowed(s);
  return attentionFlags({
    causal: s.causal,
    mask: s.mask?.kind,
    softcap: s.softcap !== undefined,
    lse: s.returnLse,
    window,
    global: window && globalTokens(s) !== undefined,
    padding: false,
  });
}

/** Pipeline key of the naive kernels for a spec (returning the weights adds a pass). */
export const naiveKey = (s: SdpaSpec) => `naive:${flagsOf(s)}r${s.returnWeights ? 1 : 0}`;

/** Pipeline key of the flash kernel: flags plus the sizes that pick its tiling. */
export const flashKey = (s: SdpaSpec) => {
  const dims = { B: s.B, Hq: s.Hkv * s.group, Hkv: s.Hkv, Lq: s.Lq, Lk: s.Lk, D: s.D, Dv: s.Dv };
  return `flash:${flagsOf(s)}${flashTiling(dims, s.tile)}`;
};

/** The flash kernel's tiling for sizes (what its overrides hold besides the flags). */
export function flashTiling(dims: SdpaDims, tile?: SdpaTile): string {
  const plan = planSdpa(dims, deviceLimits(), tile);
  return `t${plan.tile.blockQ}x${plan.tile.tileKv}d${plan.headDimVec4}v${plan.valueDimVec4}`;
}

export interface SdpaHostCase {
  q: HostTensor & { data: Float32Array };
  k: HostTensor & { data: Float32Array };
  v: HostTensor & { data: Float32Array };
  mask: (HostTensor & { data: Float32Array | Uint8Array }) | undefined;
  /** The call's options without the mask (returnWeights included: the flash call drops it). */
  options: Omit<ReferenceSdpaOptions, 'mask'>;
  Hq: number;
  /** Flash only (not an option of the naive kernel or the reference). */
  tile: SdpaTile | undefined;
  wrapAt: number | undefined;
}

function maskData(m: MaskSpec, shape: number[], seed: number): Float32Array | Uint8Array {
  if (m.kind === 'bool') return booleans(shape, seed, 4, m.density);
  if (m.fill === 'constant') return new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(m.constant);
  if (m.fill !== 'ordinary') {
    const palette = m.fill === 'large' ? LARGE_FINITE : EXTREME_FINITE;
    return fromPalette(shape, seed, 4, [...palette, -Infinity, 0, 0.5, -2]);
  }
  const data = uniform(shape, seed, 4, 2);
  const next = prng(seed + 17);
  return data.map((x) => (next() < m.density ? -Infinity : x));
}

/** The host tensors and options a spec stands for. */
export function sdpaHostCase(s: SdpaSpec): SdpaHostCase {
  const Hq = s.Hkv * s.group;
  const shape = (H: number, L: number, d: number) => (s.layout === 'bshd' ? [s.B, L, H, d] : [s.B, H, L, d]);
  const [qShape, kShape, vShape] = [shape(Hq, s.Lq, s.D), shape(s.Hkv, s.Lk, s.D), shape(s.Hkv, s.Lk, s.Dv)];
  const q = { data: applyPokes(uniform(qShape, s.seed, 1, s.amplitude), s.pokes, 'q'), shape: qShape };
  const k = { data: applyPokes(uniform(kShape, s.seed, 2), s.pokes, 'k'), shape: kShape };
  const v = { data: applyPokes(uniform(vShape, s.seed, 3), s.pokes, 'v'), shape: vShape };
  let mask: SdpaHostCase['mask'];
  if (s.mask) {
    const full = [s.B, Hq, s.Lq, s.Lk].slice(4 - s.mask.full.length);
    const mShape = full.map((n, a) => (s.mask!.full[a] ? n : 1));
    const data = maskData(s.mask, mShape, s.seed);
    mask = { data: data instanceof Float32Array ? applyPokes(data, s.pokes, 'mask') : data, shape: mShape };
  }
  const options: SdpaHostCase['options'] = { layout: s.layout, causal: s.causal, alignment: s.alignment };
  if (s.scale !== undefined) options.scale = s.scale;
  if (s.softcap !== undefined) options.softcap = s.softcap;
  if (s.window !== undefined) options.window = s.window;
  if (s.dilation !== undefined) options.dilation = s.dilation;
  const tokens = globalTokens(s);
  if (tokens) options.globalTokens = tokens;
  if (s.returnLse) options.returnLse = true;
  if (s.returnWeights) options.returnWeights = true;
  return { q, k, v, mask, options, Hq, tile: s.tile, wrapAt: s.wrapAt };
}
