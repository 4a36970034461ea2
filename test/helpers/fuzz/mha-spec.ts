/**
 * Random valid multi-head-attention layers and forward calls (attn.multiHeadAttention): packed or
 * separate weights with optional biases, grouped-query heads, an explicit headDim, rotary (NeoX or
 * GPT-J, partial dim, position offset), self- or cross-attention with kdim/vdim, causal with both
 * alignments, windows, float or boolean masks, key padding, needWeights with or without averaging.
 */
import fc from 'fast-check';
import type { HostTensor } from '../../../src/index';
import {
  applyPokes,
  booleans,
  EXTREME_FINITE,
  LARGE_FINITE,
  fromPalette,
  NON_FINITE,
  pokesArb,
  seedArb,
  uniform,
  type Poke,
} from './data';
import { linearKeyOf } from './linear';
import { attentionFlags, flashTiling, maskArb, sometimes, windowed, type Flavour, type MaskSpec } from './sdpa-spec';

export type MhaTensorName = 'x' | 'key' | 'value' | 'mask';

export interface MhaSpec {
  B: number;
  L: number;
  /** Keys of a cross-attention call (self-attention uses L). */
  Lk: number;
  H: number;
  /** Query heads per kv head, lowered to a divisor of H. */
  group: number;
  headDim: number;
  /** Pass headDim in the config (with an embedDim that need not be H·headDim). */
  explicitHeadDim: boolean;
  /** Used only with explicitHeadDim (otherwise embedDim = H·headDim). */
  embedDim: number;
  cross: boolean;
  /** Widths of key and value in cross-attention with separate weights; 0 = embedDim. */
  kdim: number;
  vdim: number;
  packed: boolean;
  /** Biases present: q, k, v, o (packed: in, —, —, out). */
  biases: [boolean, boolean, boolean, boolean];
  /** `partial`: rotary.dim = 2 (when headDim > 2), else the default headDim. Forces an even headDim. */
  rotary: { interleaved: boolean; partial: boolean; positionOffset: number; base: number } | undefined;
  causal: boolean;
  alignment: 'upper-left' | 'lower-right';
  window: { left: number; right: number } | undefined;
  scale: number | undefined;
  mask: MaskSpec | undefined;
  /** Chance of a padded key; undefined = no keyPaddingMask. */
  padding: number | undefined;
  needWeights: boolean;
  averageHeads: boolean | undefined;
  seed: number;
  pokes: Poke<MhaTensorName>[];
}

export function mhaArb(flavour: Flavour): fc.Arbitrary<MhaSpec> {
  const reach = fc.integer({ min: -1, max: 12 });
  return fc.record({
    B: fc.integer({ min: 1, max: 2 }),
    L: fc.integer({ min: 1, max: 12 }),
    Lk: fc.integer({ min: 1, max: 12 }),
    H: fc.constantFrom(2, 1, 4),
    group: fc.constantFrom(1, 2, 4),
    headDim: fc.constantFrom(4, 2, 3, 6, 8),
    explicitHeadDim: fc.boolean(),
    embedDim: fc.integer({ min: 2, max: 12 }),
    cross: fc.boolean(),
    kdim: fc.constantFrom(0, 3, 5, 8),
    vdim: fc.constantFrom(0, 3, 5, 8),
    packed: fc.boolean(),
    biases: fc.tuple(fc.boolean(), fc.boolean(), fc.boolean(), fc.boolean()),
    rotary: sometimes(
      fc.record({
        interleaved: fc.boolean(),
        partial: fc.boolean(),
        positionOffset: fc.constantFrom(0, 3, 100),
        base: fc.constantFrom(10000, 500),
      }),
    ),
    causal: fc.boolean(),
    alignment: fc.constantFrom('upper-left' as const, 'lower-right' as const),
    window: sometimes(fc.record({ left: reach, right: reach }), 1, 3),
    scale: sometimes(fc.constantFrom(0.5, 2)),
    mask: maskArb(flavour, flavour === 'extreme' || flavour === 'large'),
    padding: sometimes(fc.constantFrom(0.3, 0, 1), flavour === 'nonfinite' ? 3 : 1, 2),
    needWeights: fc.boolean(),
    averageHeads: fc.constantFrom(undefined, true, false),
    seed: seedArb,
    pokes: flavour === 'nonfinite' ? pokesArb(['x', 'key', 'value', 'mask'] as const, NON_FINITE) : fc.constant([]),
  });
}

/** Sizes after the spec's choices are made consistent. */
export function mhaSizes(s: MhaSpec) {
  const group = [4, 2, 1].find((g) => g <= s.group && s.H % g === 0)!;
  const Hkv = s.H / group;
  const headDim = s.rotary && s.headDim % 2 === 1 ? s.headDim + 1 : s.headDim;
  const E = s.explicitHeadDim ? s.embedDim : s.H * headDim;
  const kdim = s.cross && !s.packed && s.kdim ? s.kdim : E;
  const vdim = s.cross && !s.packed && s.vdim ? s.vdim : E;
  const Lk = s.cross ? s.Lk : s.L;
  return { H: s.H, Hkv, headDim, E, kdim, vdim, Lk };
}

type Host = HostTensor & { data: Float32Array | Uint8Array };

export interface MhaHostCase {
  config: Record<string, unknown> & { weights: Record<string, Host> };
  x: Host;
  /** Forward options (tensors as host tensors). */
  options: Record<string, unknown>;
}

/** The host config, input and options of a spec. */
export function mhaHostCase(s: MhaSpec): MhaHostCase {
  const { H, Hkv, headDim: hd, E, kdim, vdim, Lk } = mhaSizes(s);
  let salt = 10;
  const w = (shape: number[]) => ({
    data: uniform(shape, s.seed, salt++, 1 / Math.sqrt(shape[shape.length - 1])),
    shape,
  });
  const weights: Record<string, Host> = {};
  const [bq, bk, bv, bo] = s.biases;
  if (s.packed) {
    weights.inProj = w([(H + 2 * Hkv) * hd, E]);
    if (bq) weights.inProjBias = w([(H + 2 * Hkv) * hd]);
    weights.outProj = w([E, H * hd]);
    if (bo) weights.outProjBias = w([E]);
  } else {
    Object.assign(weights, { q: w([H * hd, E]), k: w([Hkv * hd, kdim]), v: w([Hkv * hd, vdim]), o: w([E, H * hd]) });
    if (bq) weights.qBias = w([H * hd]);
    if (bk) weights.kBias = w([Hkv * hd]);
    if (bv) weights.vBias = w([Hkv * hd]);
    if (bo) weights.oBias = w([E]);
  }
  const config: MhaHostCase['config'] = { embedDim: E, numHeads: H, weights };
  if (Hkv !== H) config.numKvHeads = Hkv;
  if (s.explicitHeadDim) config.headDim = hd;
  if (kdim !== E) config.kdim = kdim;
  if (vdim !== E) config.vdim = vdim;
  if (s.rotary) {
    const r = s.rotary;
    config.rotary = { base: r.base, interleaved: r.interleaved, positionOffset: r.positionOffset };
    if (r.partial && hd > 2) (config.rotary as Record<string, number>).dim = 2;
  }
  const input = (name: MhaTensorName, shape: number[], salt: number) => ({
    data: applyPokes(uniform(shape, s.seed, salt), s.pokes, name),
    shape,
  });
  const x = input('x', [s.B, s.L, E], 1);
  const options: Record<string, unknown> = {};
  if (s.cross)
    Object.assign(options, { key: input('key', [s.B, Lk, kdim], 2), value: input('value', [s.B, Lk, vdim], 3) });
  if (s.causal) options.causal = true;
  if (s.alignment === 'lower-right') options.alignment = s.alignment;
  if (s.window) options.window = s.window;
  if (s.scale !== undefined) options.scale = s.scale;
  if (s.mask) {
    const full = [s.B, H, s.L, Lk].slice(4 - s.mask.full.length);
    const shape = full.map((n, a) => (s.mask!.full[a] ? n : 1));
    const floats = () =>
      applyPokes(
        uniform(shape, s.seed, 4, 2).map((v, i) => (i % 5 === 3 ? -Infinity : v)),
        s.pokes,
        'mask',
      );
    const extreme = () =>
      s.mask!.fill === 'constant'
        ? new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(s.mask!.constant)
        : fromPalette(shape, s.seed, 4, [
            ...(s.mask!.fill === 'large' ? LARGE_FINITE : EXTREME_FINITE),
            -Infinity,
            0,
            0.5,
          ]);
    options.mask = {
      data:
        s.mask.kind === 'bool'
          ? booleans(shape, s.seed, 4, s.mask.density)
          : s.mask.fill === 'ordinary'
            ? floats()
            : extreme(),
      shape,
    };
  }
  if (s.padding !== undefined)
    options.keyPaddingMask = { data: booleans([s.B, Lk], s.seed, 6, s.padding), shape: [s.B, Lk] };
  if (s.needWeights) options.needWeights = true;
  if (s.needWeights && s.averageHeads !== undefined) options.averageHeads = s.averageHeads;
  return { config, x, options };
}

/** The pipelines a forward needs: its GEMMs (tiling by rows, bias, rotary) and its attention kernel. */
export function mhaKeys(s: MhaSpec): string[] {
  const z = mhaSizes(s);
  const [M, Mk] = [s.B * s.L, s.B * z.Lk];
  const rotary = s.rotary ? (s.rotary.interleaved ? 'j' : 'n') : '-';
  const gemm = (rows: number, bias: boolean, rot: string) => linearKeyOf(rows, bias, rot);
  const [bq, bk, bv, bo] = s.packed ? [s.biases[0], s.biases[0], s.biases[0], s.biases[3]] : s.biases;
  const keys =
    s.packed && !s.cross
      ? [gemm(M, bq, rotary)]
      : [gemm(M, bq, rotary), gemm(s.cross ? Mk : M, bk, rotary), gemm(s.cross ? Mk : M, bv, '-')];
  keys.push(gemm(M, bo, '-'));
  const flags = attentionFlags({
    causal: s.causal,
    mask: s.mask?.kind,
    softcap: false,
    lse: false,
    window: windowed({ window: s.window, dilation: undefined, Lq: s.L, Lk: mhaSizes(s).Lk }),
    global: false,
    padding: s.padding !== undefined,
  });
  const dims = { B: s.B, Hq: z.H, Hkv: z.Hkv, Lq: s.L, Lk: z.Lk, D: z.headDim, Dv: z.headDim };
  keys.push(s.needWeights ? `naive:${flags}r1` : `flash:${flags}${flashTiling(dims)}`);
  return keys;
}
