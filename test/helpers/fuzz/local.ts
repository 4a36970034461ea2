/**
 * Random valid calls of attn.neighborhood2d / attn.neighborhood1d (kernel, dilation, causal per axis,
 * rpb, layouts, grouped-query heads), checked against reference.neighborhood2d / 1d.
 */
import fc from 'fast-check';
import { reference, type GpuTensor, type HostTensor } from '../../../src/index';
import { planNeighborhood } from '../../../src/ops/local/plan';
import { deviceLimits } from './budget';
import { assertAllAgree, compare } from './compare';
import { applyPokes, NON_FINITE, pokesArb, seedArb, uniform, type Poke } from './data';
import { sometimes, type Flavour } from './sdpa-spec';
import { Scratch, take, type World } from './world';

export type LocalTensorName = 'q' | 'k' | 'v' | 'rpb';

export interface LocalSpec {
  rank: 1 | 2;
  B: number;
  Hkv: number;
  group: number;
  /** Map: Y × X (rank 2) or a sequence of X (rank 1; Y unused). */
  Y: number;
  X: number;
  D: number;
  Dv: number;
  /** Per axis [y, x]; made valid (odd, kernel·dilation ≤ length) by localCall. */
  kernel: [number, number];
  dilation: [number, number];
  causal: [boolean, boolean];
  /** Pass kernel, dilation and causal as a single value when both axes agree. */
  scalarForms: boolean;
  rpb: boolean;
  channelsLast: boolean;
  scale: number | undefined;
  seed: number;
  pokes: Poke<LocalTensorName>[];
  /** Inputs wrapped in one app buffer (Scratch.uploadAll). */
  wrapAt: number | undefined;
}

const pair = <T>(arb: fc.Arbitrary<T>) => fc.tuple(arb, arb);

export function localArb(flavour: Flavour): fc.Arbitrary<LocalSpec> {
  return fc.record({
    rank: fc.constantFrom(2 as const, 1 as const),
    B: fc.integer({ min: 1, max: 2 }),
    Hkv: fc.integer({ min: 1, max: 2 }),
    group: fc.constantFrom(1, 2),
    Y: fc.integer({ min: 1, max: 9 }),
    X: fc.integer({ min: 1, max: 14 }),
    D: fc.constantFrom(4, 3, 8),
    Dv: fc.constantFrom(4, 5, 8),
    kernel: pair(fc.constantFrom(1, 3, 5, 7)),
    dilation: pair(fc.integer({ min: 1, max: 3 })),
    causal: pair(fc.boolean()),
    scalarForms: fc.boolean(),
    rpb: fc.boolean(),
    channelsLast: fc.boolean(),
    scale: fc.option(fc.constantFrom(0.5, 2), { nil: undefined }),
    seed: seedArb,
    pokes: flavour === 'nonfinite' ? pokesArb(['q', 'k', 'v', 'rpb'] as const, NON_FINITE) : fc.constant([]),
    wrapAt: sometimes(fc.nat({ max: 70 }), 1, 4),
  });
}

/** The largest odd kernel ≤ k with kernel·dilation ≤ n (dilation lowered first when needed). */
function fit(k: number, d: number, n: number): [number, number] {
  let kernel = Math.min(k, n % 2 === 1 ? n : n - 1);
  let dilation = d;
  while (kernel * dilation > n) dilation > 1 ? dilation-- : (kernel -= 2);
  return [Math.max(1, kernel), dilation];
}

export interface LocalCall {
  q: HostTensor & { data: Float32Array };
  k: HostTensor & { data: Float32Array };
  v: HostTensor & { data: Float32Array };
  rpb: (HostTensor & { data: Float32Array }) | undefined;
  /** Options without rpb. */
  options: Record<string, unknown>;
  axes: string[];
  wrapAt: number | undefined;
}

/** The host tensors and options of a spec (kernel and dilation fitted to the map). */
export function localCall(s: LocalSpec): LocalCall {
  const Hq = s.Hkv * s.group;
  const Y = s.rank === 2 ? s.Y : 1;
  const [ky, dy] = s.rank === 2 ? fit(s.kernel[0], s.dilation[0], Y) : [1, 1];
  const [kx, dx] = fit(s.kernel[1], s.dilation[1], s.X);
  const map = s.rank === 2 ? [Y, s.X] : [s.X];
  const shape = (H: number, d: number) => (s.channelsLast ? [s.B, ...map, H, d] : [s.B, H, ...map, d]);
  const q = { data: applyPokes(uniform(shape(Hq, s.D), s.seed, 1), s.pokes, 'q'), shape: shape(Hq, s.D) };
  const k = { data: applyPokes(uniform(shape(s.Hkv, s.D), s.seed, 2), s.pokes, 'k'), shape: shape(s.Hkv, s.D) };
  const v = { data: applyPokes(uniform(shape(s.Hkv, s.Dv), s.seed, 3), s.pokes, 'v'), shape: shape(s.Hkv, s.Dv) };
  const rpbShape = s.rank === 2 ? [Hq, 2 * ky - 1, 2 * kx - 1] : [Hq, 2 * kx - 1];
  const rpb = s.rpb ? { data: applyPokes(uniform(rpbShape, s.seed, 5), s.pokes, 'rpb'), shape: rpbShape } : undefined;
  const both = <T>(y: T, x: T): T | [T, T] => (s.rank === 1 ? x : s.scalarForms && y === x ? x : [y, x]);
  const options: Record<string, unknown> = { kernel: both(ky, kx) };
  if (dx > 1 || dy > 1 || !s.scalarForms) options.dilation = both(dy, dx);
  if (s.causal[0] || s.causal[1] || !s.scalarForms) options.causal = both(s.causal[0], s.causal[1]);
  if (s.scale !== undefined) options.scale = s.scale;
  if (s.channelsLast || !s.scalarForms)
    options.layout = s.rank === 2 ? (s.channelsLast ? 'byxhd' : 'bhyxd') : s.channelsLast ? 'bshd' : 'bhsd';
  const axes =
    s.rank === 2
      ? s.channelsLast
        ? ['b', 'y', 'x', 'h', 'd']
        : ['b', 'h', 'y', 'x', 'd']
      : s.channelsLast
        ? ['b', 'l', 'h', 'd']
        : ['b', 'h', 'l', 'd'];
  return { q, k, v, rpb, options, axes, wrapAt: s.wrapAt };
}

/** Pipeline key of the neighbourhood kernel: window, flags and the tiling its plan picks. */
export function localKey(s: LocalSpec): string {
  const c = localCall(s);
  const o = c.options;
  const pair = <T>(v: unknown, fallback: T): [T, T] =>
    v === undefined
      ? [fallback, fallback]
      : Array.isArray(v)
        ? (v as [T, T])
        : s.rank === 2
          ? [v as T, v as T]
          : [fallback, v as T];
  const kernel = pair(o.kernel, 1);
  const dilation = pair(o.dilation, 1);
  const causal = pair(o.causal, false);
  const dims = { B: s.B, Hq: s.Hkv * s.group, Hkv: s.Hkv, Y: s.rank === 2 ? s.Y : 1, X: s.X, D: s.D, Dv: s.Dv };
  const plan = planNeighborhood(dims, kernel, dilation, deviceLimits());
  return `local:k${kernel}c${causal}r${+s.rpb}t${plan.tile.y}x${plan.tile.x}c${plan.chunkVec4}w${plan.workgroupSize}`;
}

/** The call on the GPU (inputs uploaded into `scratch`); returns the output tensor. */
export function runLocal(w: World, scratch: Scratch, rank: 1 | 2, c: LocalCall): GpuTensor {
  const [q, k, v, rpb] = scratch.uploadAll([c.q, c.k, c.v, ...(c.rpb ? [c.rpb] : [])], c.wrapAt) as GpuTensor[];
  const options = { ...(c.options as { kernel: number }), ...(rpb ? { rpb } : {}) };
  return rank === 2 ? w.attn.neighborhood2d(q, k, v, options) : w.attn.neighborhood1d(q, k, v, options);
}

/** The property body: GPU and reference agree on the output. */
export async function checkLocal(w: World, s: LocalSpec): Promise<void> {
  const c = localCall(s);
  const expected = (s.rank === 2 ? reference.neighborhood2d : reference.neighborhood1d)(c.q, c.k, c.v, {
    ...(c.options as { kernel: number }),
    ...(c.rpb ? { rpb: c.rpb } : {}),
  });
  const scratch = new Scratch(w.attn);
  const wrapped = c.wrapAt !== undefined ? ` (wrapped in one app buffer, wrapAt ${c.wrapAt})` : '';
  const line = `neighborhood${s.rank}d: q [${c.q.shape}] k [${c.k.shape}] v [${c.v.shape}]${c.rpb ? ` rpb [${c.rpb.shape}]` : ''} options ${fc.stringify(c.options)}${wrapped}\n  spec ${fc.stringify(s)}`;
  let got: Float32Array;
  try {
    got = await take(runLocal(w, scratch, s.rank, c));
  } catch (error) {
    throw new Error(`${line}\n  the GPU call threw: ${String(error)}`);
  } finally {
    scratch.destroy();
  }
  assertAllAgree(line, { output: compare(got, expected.data, expected.shape, c.axes) });
}
