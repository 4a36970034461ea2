/**
 * Named cases of attention for long inputs (linear attention and Linformer), shared by the Node
 * ring (test/node/linear-attention.test.ts, test/node/linformer.test.ts) and, through
 * test/helpers/long-runners.ts, the browser and wgpu rings. Inputs are deterministic from the case
 * name; expected values come from the float64 reference on the same (f16-rounded where stored as
 * f16) values. Odd sizes throughout: L = 77, D = 40, Dv ≠ D, r = 13, chunks that do not divide L.
 */
import type { FeatureMap } from '../src/contract/linear-attention';
import type { HostTensor } from '../src/contract/types';
import { roundF16 } from '../src/contract/f16';
import { reference } from '../src/reference/index';
import { random } from './mha-cases';

type Host = HostTensor & { data: Float32Array };
type Dtype = 'f32' | 'f16';

export interface LinearAttentionCase {
  name: string;
  B: number;
  Hq: number;
  Hkv: number;
  Lq: number;
  Lk: number;
  D: number;
  Dv: number;
  featureMap: FeatureMap;
  causal: boolean;
  eps?: number;
  /** Storage of q, k, v. Default f32. */
  dtype?: Dtype;
  /** Runs on the browser and wgpu rings too. */
  everyEngine?: boolean;
}

export const LINEAR_ATTENTION_CASES: LinearAttentionCase[] = [
  {
    name: 'linear attention elu+1, B=2 H=3 L=77 D=40 Dv=24',
    ...{ B: 2, Hq: 3, Hkv: 3, Lq: 77, Lk: 77, D: 40, Dv: 24 },
    featureMap: 'elu+1',
    causal: false,
    everyEngine: true,
  },
  {
    name: 'linear attention relu causal, B=2 H=3 L=77 D=40 Dv=24',
    ...{ B: 2, Hq: 3, Hkv: 3, Lq: 77, Lk: 77, D: 40, Dv: 24 },
    featureMap: 'relu',
    causal: true,
    everyEngine: true,
  },
  {
    name: 'linear attention elu+1 causal, B=2 H=3 L=77 D=40 Dv=24, eps 0.25',
    ...{ B: 2, Hq: 3, Hkv: 3, Lq: 77, Lk: 77, D: 40, Dv: 24 },
    featureMap: 'elu+1',
    causal: true,
    eps: 0.25,
  },
  {
    name: 'linear attention relu, GQA Hq=4 Hkv=2, Lq=33 Lk=150, D=7 Dv=5',
    ...{ B: 1, Hq: 4, Hkv: 2, Lq: 33, Lk: 150, D: 7, Dv: 5 },
    featureMap: 'relu',
    causal: false,
  },
  {
    name: 'linear attention elu+1 causal long L=5000 (many segments: the scan), GQA 2/1, D=32 Dv=20',
    ...{ B: 1, Hq: 2, Hkv: 1, Lq: 5000, Lk: 5000, D: 32, Dv: 20 },
    featureMap: 'elu+1',
    causal: true,
  },
  {
    name: 'linear attention relu, long Lk=3001 in segments, Lq=40, D=16 Dv=16',
    ...{ B: 1, Hq: 2, Hkv: 2, Lq: 40, Lk: 3001, D: 16, Dv: 16 },
    featureMap: 'relu',
    causal: false,
  },
  {
    name: 'linear attention elu+1 causal, Dv=200 in several value tiles, D=130, L=45',
    ...{ B: 1, Hq: 1, Hkv: 1, Lq: 45, Lk: 45, D: 130, Dv: 200 },
    featureMap: 'elu+1',
    causal: true,
  },
  {
    name: 'linear attention f16 q, k, v, elu+1 causal, L=77 D=41 Dv=9',
    ...{ B: 1, Hq: 2, Hkv: 2, Lq: 77, Lk: 77, D: 41, Dv: 9 },
    featureMap: 'elu+1',
    causal: true,
    dtype: 'f16',
    everyEngine: true,
  },
];

const rounded = (t: Host, dtype: Dtype | undefined): Host =>
  dtype === 'f16' ? { ...t, data: t.data.map(roundF16) } : t;

/** The case's q, k, v (already f16 values where stored as f16). */
export function linearAttentionInputs(c: LinearAttentionCase): { q: Host; k: Host; v: Host } {
  return {
    q: rounded(random(`${c.name} q`, [c.B, c.Hq, c.Lq, c.D]), c.dtype),
    k: rounded(random(`${c.name} k`, [c.B, c.Hkv, c.Lk, c.D]), c.dtype),
    v: rounded(random(`${c.name} v`, [c.B, c.Hkv, c.Lk, c.Dv]), c.dtype),
  };
}

export const linearAttentionOptions = (c: LinearAttentionCase) => ({
  featureMap: c.featureMap,
  causal: c.causal,
  ...(c.eps === undefined ? {} : { eps: c.eps }),
});

export interface LinformerCase {
  name: string;
  B: number;
  Hq: number;
  Hkv: number;
  Lq: number;
  Lk: number;
  D: number;
  Dv: number;
  r: number;
  layout?: 'bhsd' | 'bshd';
  /** A boolean mask [Lq, r]: pairs with (i + 2j) % 5 = 0 removed. */
  mask?: boolean;
  scale?: number;
  softcap?: number;
  returnLse?: boolean;
  /** Storage of q, k, v and the projections. Default f32. */
  dtype?: Dtype;
  everyEngine?: boolean;
}

export const LINFORMER_CASES: LinformerCase[] = [
  {
    name: 'linformer r=13, B=2 H=3 L=77 D=40 Dv=24',
    ...{ B: 2, Hq: 3, Hkv: 3, Lq: 77, Lk: 77, D: 40, Dv: 24, r: 13 },
    everyEngine: true,
  },
  {
    name: 'linformer r=13, GQA 4/2, bshd, boolean mask [Lq, r], returnLse, Lq=20 Lk=77',
    ...{ B: 2, Hq: 4, Hkv: 2, Lq: 20, Lk: 77, D: 40, Dv: 24, r: 13 },
    layout: 'bshd',
    mask: true,
    returnLse: true,
  },
  {
    name: 'linformer r=100 > Lk=77, scale 0.3, softcap 4, Dv=8',
    ...{ B: 1, Hq: 2, Hkv: 2, Lq: 31, Lk: 77, D: 40, Dv: 8, r: 100 },
    scale: 0.3,
    softcap: 4,
  },
  {
    name: 'linformer f16 q, k, v and projections, r=13, L=77, D=36 Dv=20',
    ...{ B: 1, Hq: 2, Hkv: 1, Lq: 77, Lk: 77, D: 36, Dv: 20, r: 13 },
    dtype: 'f16',
    everyEngine: true,
  },
];

/** The case's q, k, v, E = projectK, F = projectV (projections scaled by 1/√Lk, as Linformer initialises them) and mask. */
export function linformerInputs(c: LinformerCase) {
  const bshd = c.layout === 'bshd';
  const shape = (H: number, L: number, dim: number) => (bshd ? [c.B, L, H, dim] : [c.B, H, L, dim]);
  const scale = 1 / Math.sqrt(c.Lk);
  const mask = c.mask
    ? {
        data: Uint8Array.from({ length: c.Lq * c.r }, (_, n) => ((Math.floor(n / c.r) + 2 * (n % c.r)) % 5 ? 1 : 0)),
        shape: [c.Lq, c.r],
      }
    : undefined;
  return {
    q: rounded(random(`${c.name} q`, shape(c.Hq, c.Lq, c.D)), c.dtype),
    k: rounded(random(`${c.name} k`, shape(c.Hkv, c.Lk, c.D)), c.dtype),
    v: rounded(random(`${c.name} v`, shape(c.Hkv, c.Lk, c.Dv)), c.dtype),
    projectK: rounded(random(`${c.name} E`, [c.r, c.Lk], scale), c.dtype),
    projectV: rounded(random(`${c.name} F`, [c.r, c.Lk], scale), c.dtype),
    mask,
  };
}

/** The sdpa options of the case (without tensors). */
export const linformerOptions = (c: LinformerCase) => ({
  ...(c.layout ? { layout: c.layout } : {}),
  ...(c.scale === undefined ? {} : { scale: c.scale }),
  ...(c.softcap === undefined ? {} : { softcap: c.softcap }),
  ...(c.returnLse ? { returnLse: true } : {}),
});

/** The float64 reference of a Linformer case: output, and lse when the case asks for it. */
export function linformerExpected(c: LinformerCase, inputs: ReturnType<typeof linformerInputs>) {
  const { q, k, v, projectK, projectV, mask } = inputs;
  const r = reference.linformer(q, k, v, { projectK, projectV, mask, ...linformerOptions(c), returnLse: true });
  return { output: r.output, lse: c.returnLse ? r.lse : undefined };
}
