/**
 * Invalid calls of attn.neighborhood2d (q [1, 2, 5, 6, 4], k [1, 1, 5, 6, 4], v [1, 1, 5, 6, 3],
 * kernel 3) and attn.neighborhood1d (q [1, 2, 7, 4], k [1, 1, 7, 4], v [1, 1, 7, 3], kernel 3),
 * one argument or option made bad.
 */
import { NOT_TENSORS, type Kit, type MutationTable, type Prepared } from './invalid';

type Rank = 1 | 2;
const SHAPES: Record<Rank, Record<'q' | 'k' | 'v', number[]>> = {
  2: { q: [1, 2, 5, 6, 4], k: [1, 1, 5, 6, 4], v: [1, 1, 5, 6, 3] },
  1: { q: [1, 2, 7, 4], k: [1, 1, 7, 4], v: [1, 1, 7, 3] },
};
const NAMES = ['q', 'k', 'v'] as const;

function call(
  rank: Rank,
  kit: Kit,
  replace: Partial<Record<'q' | 'k' | 'v', unknown>>,
  options: unknown,
): () => unknown {
  const s = SHAPES[rank];
  const [q, k, v] = NAMES.map((n) => (n in replace ? replace[n] : kit.t(s[n])));
  const f = rank === 2 ? kit.attn.neighborhood2d.bind(kit.attn) : kit.attn.neighborhood1d.bind(kit.attn);
  return () => (f as (...a: unknown[]) => unknown)(q, k, v, options);
}

const base = { kernel: 3 };

/** `options.<name>` set to the bad value on top of { kernel: 3 }. */
const option = (rank: Rank, name: string, values: unknown[]) => ({
  values,
  build: (kit: Kit, value: unknown): Prepared => ({
    call: call(rank, kit, {}, { ...base, [name]: value }),
    argument: `options.${name}`,
  }),
});

const tensorArg =
  (rank: Rank, make: (kit: Kit, name: 'q' | 'k' | 'v', value: unknown) => unknown) =>
  (kit: Kit, value: unknown, variant: number): Prepared => {
    const name = NAMES[variant % 3];
    return { call: call(rank, kit, { [name]: make(kit, name, value) }, base), argument: name };
  };

export function localMutations(rank: Rank): MutationTable {
  const s = SHAPES[rank];
  const withDim = (shape: number[], at: number, value: number) => shape.map((d, i) => (i === at ? value : d));
  const map = 2; // the first map axis (Y, or L) in bhyxd / bhsd
  return {
    'not a tensor': {
      values: [...NOT_TENSORS, 'a GpuMask'],
      build: tensorArg(rank, (kit, n, v) => (v === 'a GpuMask' ? kit.m(s[n]) : v)),
    },
    rank: {
      values: [rank === 2 ? 4 : 5, 3, 6],
      build: tensorArg(rank, (kit, n, r) => kit.t([...s[n], 1, 1].slice(0, r as number))),
    },
    'tensor of another context': { values: [undefined], build: tensorArg(rank, (kit, n) => kit.foreign(s[n])) },
    'destroyed tensor': { values: [undefined], build: tensorArg(rank, (kit, n) => kit.destroyed(s[n])) },
    'map ≠ q map': {
      values: [4, 8],
      build: (kit, n, variant) => {
        const name = variant % 2 ? 'v' : 'k';
        return { call: call(rank, kit, { [name]: kit.t(withDim(s[name], map, n as number)) }, base), argument: name };
      },
    },
    'batch ≠ q batch': {
      values: [2],
      build: (kit, b, variant) => {
        const name = variant % 2 ? 'v' : 'k';
        return { call: call(rank, kit, { [name]: kit.t(withDim(s[name], 0, b as number)) }, base), argument: name };
      },
    },
    'k head dim ≠ q head dim': {
      values: [3, 5],
      build: (kit, d) => ({
        call: call(rank, kit, { k: kit.t(withDim(s.k, s.k.length - 1, d as number)) }, base),
        argument: 'k',
      }),
    },
    'v heads ≠ k heads': {
      values: [2],
      build: (kit, h) => ({ call: call(rank, kit, { v: kit.t(withDim(s.v, 1, h as number)) }, base), argument: 'v' }),
    },
    'Hkv does not divide Hq': {
      values: [3],
      build: (kit, h) => ({
        call: call(rank, kit, { k: kit.t(withDim(s.k, 1, h as number)), v: kit.t(withDim(s.v, 1, h as number)) }, base),
        argument: 'k',
      }),
    },
    options: {
      values: [undefined, null, 5, 'x', [3], {}],
      build: (kit, o) => ({
        call: call(rank, kit, {}, o),
        argument: o && typeof o === 'object' && !Array.isArray(o) ? 'options.kernel' : 'options',
      }),
    },
    kernel: option(rank, 'kernel', [
      0,
      2,
      4,
      -1,
      1.5,
      '3',
      NaN,
      [3],
      [3, 3, 3],
      [3, '3'],
      null,
      rank === 1 ? [3, 3] : [3, 4],
      Infinity,
    ]),
    'kernel·dilation > length': {
      values:
        rank === 2
          ? [{ kernel: [7, 3] }, { kernel: 3, dilation: [2, 1] }, { kernel: [1, 7] }, { kernel: 3, dilation: 3 }]
          : [{ kernel: 9 }, { kernel: 3, dilation: 3 }, { kernel: 5, dilation: 2 }],
      build: (kit, o) => ({ call: call(rank, kit, {}, o), argument: 'options.kernel' }),
    },
    'kernel too large for the device': {
      values: [45, 63],
      build: (kit, k) => {
        const n = k as number;
        const shape = rank === 2 ? [1, 1, n, n, 4] : [1, 1, n * n, 4];
        const options = rank === 2 ? { kernel: n } : { kernel: n * n };
        const [q, kk, v] = [kit.t(shape), kit.t(shape), kit.t(shape)];
        const f = rank === 2 ? kit.attn.neighborhood2d : kit.attn.neighborhood1d;
        return { call: () => f.call(kit.attn, q, kk, v, options), argument: 'options.kernel' };
      },
    },
    dilation: option(rank, 'dilation', [0, -1, 1.5, '2', NaN, [1], [1, 0], null, rank === 1 ? [1, 1] : [1, 2, 1]]),
    causal: option(rank, 'causal', [
      'yes',
      1,
      [true],
      [true, 1],
      null,
      rank === 1 ? [true, true] : [true, false, true],
    ]),
    layout: option(rank, 'layout', [rank === 2 ? 'bhsd' : 'bhyxd', 'x', 1, null, rank === 2 ? 'bshd' : 'byxhd']),
    scale: option(rank, 'scale', [0, -1, NaN, Infinity, '1', null, 1e39]),
    'rpb of the wrong shape': {
      values:
        rank === 2
          ? [
              [2, 3, 3],
              [1, 5, 5],
              [2, 5],
              [2, 5, 5, 1],
              [2, 5, 3],
              [4, 5, 5],
            ]
          : [[2, 3], [2, 5, 1], [1, 5], [5], [2, 7]],
      build: (kit, shape) => ({
        call: call(rank, kit, {}, { ...base, rpb: kit.t(shape as number[]) }),
        argument: 'options.rpb',
      }),
    },
    'rpb of another kind': {
      values: ['a GpuMask', 'foreign', 'destroyed', 5, new Float32Array(10), null],
      build: (kit, what) => {
        const shape = rank === 2 ? [2, 5, 5] : [2, 5];
        const rpb =
          what === 'a GpuMask'
            ? kit.m(shape)
            : what === 'foreign'
              ? kit.foreign(shape)
              : what === 'destroyed'
                ? kit.destroyed(shape)
                : what;
        return { call: call(rank, kit, {}, { ...base, rpb }), argument: 'options.rpb' };
      },
    },
  };
}
