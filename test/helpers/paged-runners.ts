/**
 * Paged-cache cases for every ring (engine-neutral, like case-runners.ts): sequences that grow in
 * turns so their pages interleave in the pool, then `sdpaPaged` through the page tables against the
 * float64 reference on each sequence's tokens, in f32 and f16 pools, with GQA and a split-K row.
 */
import { reference, roundF16 } from '../../src/index';
import type { HostTensor } from '../../src/contract/types';
import { compare, guarded, summarise, type Attention, type Comparison, type Lib, type Runnable } from './case-runners';
import { tokens } from './kv-cache';
import { random } from '../mha-cases';

interface PagedCase {
  name: string;
  dtype: 'f32' | 'f16';
  Hq: number;
  Hkv: number;
  D: number;
  pageSize: number;
  /** Tokens appended per turn: [sequence indices, n]. */
  turns: [number[], number][];
  Lq: number;
}

const PAGED_CASES: PagedCase[] = [
  {
    name: 'paged f32: 3 sequences in turns, GQA 4/2, D=24, pages of 8, one query',
    dtype: 'f32',
    ...{ Hq: 4, Hkv: 2, D: 24, pageSize: 8, Lq: 1 },
    turns: [
      [[0], 11],
      [[1, 2], 5],
      [[2, 0, 1], 9],
      [[1], 30],
    ],
  },
  {
    name: 'paged f16: 2 sequences in turns, one past 1500 keys (split-K), pages of 16, Lq 3',
    dtype: 'f16',
    ...{ Hq: 2, Hkv: 1, D: 32, pageSize: 16, Lq: 3 },
    turns: [
      [[0], 700],
      [[1, 0], 20],
      [[0], 800],
    ],
  },
];

/** The tokens appended to each sequence, and the stacked [B, Hkv, n, D] step tensors of a turn. */
function streams(c: PagedCase) {
  const count = 1 + Math.max(...c.turns.flatMap(([ids]) => ids));
  const total = (s: number) => c.turns.reduce((n, [ids, m]) => n + (ids.includes(s) ? m : 0), 0);
  const round = (t: HostTensor & { data: Float32Array }) =>
    c.dtype === 'f16' ? { ...t, data: t.data.map(roundF16) } : t;
  return Array.from({ length: count }, (_, s) => ({
    k: round(random(`${c.name} k${s}`, [1, c.Hkv, total(s), c.D], 2)),
    v: round(random(`${c.name} v${s}`, [1, c.Hkv, total(s), c.D])),
    held: 0,
  }));
}

function stack(parts: HostTensor[]): HostTensor & { data: Float32Array } {
  const [, H, L, D] = parts[0].shape;
  const data = new Float32Array(parts.length * H * L * D);
  parts.forEach((p, b) => data.set(p.data as ArrayLike<number>, b * H * L * D));
  return { data, shape: [parts.length, H, L, D] };
}

function runPagedCase(lib: Lib, attn: Attention, c: PagedCase): Promise<ReturnType<typeof summarise>> {
  return guarded(lib, c.name, async (own) => {
    const put = (t: HostTensor) =>
      own(attn.tensor(Float32Array.from(t.data as ArrayLike<number>), [...t.shape], { dtype: c.dtype }));
    const all = streams(c);
    const cache = own(
      attn.pagedKvCache({ kvHeads: c.Hkv, headDim: c.D, pageSize: c.pageSize, numPages: 256, dtype: c.dtype }),
    );
    const ids = all.map(() => cache.addSequence());
    for (const [which, n] of c.turns) {
      const part = (s: number, x: 'k' | 'v') => tokens(all[s][x], all[s].held, all[s].held + n);
      cache.append(
        which.map((s) => ids[s]),
        put(stack(which.map((s) => part(s, 'k')))),
        put(stack(which.map((s) => part(s, 'v')))),
      );
      which.forEach((s) => (all[s].held += n));
    }
    const q = random(`${c.name} q`, [all.length, c.Hq, c.Lq, c.D]);
    const options = { causal: true, alignment: 'lower-right' as const };
    const out = own(attn.sdpaPaged(own(attn.tensor(q.data, [...q.shape])), cache, { sequences: ids, ...options }));
    const got = await out.read();
    const comparisons: Comparison[] = [];
    const rowSize = c.Hq * c.Lq * c.D;
    all.forEach((s, b) => {
      const qb = { data: q.data.slice(b * rowSize, (b + 1) * rowSize), shape: [1, c.Hq, c.Lq, c.D] };
      const want = reference.sdpa(qb, tokens(s.k, 0, s.held), tokens(s.v, 0, s.held), options);
      comparisons.push(compare(`row ${b}`, got.subarray(b * rowSize, (b + 1) * rowSize), want.data));
    });
    return summarise(c.name, comparisons, undefined);
  });
}

/** The paged-cache cases, names as in PAGED_CASES. */
export const pagedRunnables = (): Runnable[] =>
  PAGED_CASES.map((c) => ({ name: c.name, run: (lib, attn) => runPagedCase(lib, attn, c) }));
