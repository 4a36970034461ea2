/**
 * Invalid calls of attn.sdpa and attn.sdpaNaive: one valid call (q [1, 2, 5, 4], k [1, 1, 6, 4],
 * v [1, 1, 6, 3], bhsd, Hq = 2, Lq = 5, Lk = 6) with one argument or option made bad.
 */
import type { GpuMask, GpuTensor } from '../../../src/index';
import { NOT_TENSORS, type Kit, type Mutation, type MutationTable, type Prepared } from './invalid';

type Kernel = 'sdpa' | 'sdpaNaive';
const Q = [1, 2, 5, 4];
const K = [1, 1, 6, 4];
const V = [1, 1, 6, 3];
const NAMES = ['q', 'k', 'v'] as const;

/** The valid call with `replace` swapping q, k or v and `options` added. */
function call(
  kernel: Kernel,
  kit: Kit,
  replace: Partial<Record<'q' | 'k' | 'v', unknown>>,
  options?: unknown,
): () => unknown {
  const q = 'q' in replace ? replace.q : kit.t(Q);
  const k = 'k' in replace ? replace.k : kit.t(K);
  const v = 'v' in replace ? replace.v : kit.t(V);
  const f = kernel === 'sdpa' ? kit.attn.sdpa.bind(kit.attn) : kit.attn.sdpaNaive.bind(kit.attn);
  return () => (f as (...a: unknown[]) => unknown)(q, k, v, options);
}

/** A bad value for one option (the others default). */
const option = (kernel: Kernel, name: string, values: unknown[], argument = `options.${name}`): Mutation => ({
  values,
  build: (kit, value) => ({ call: call(kernel, kit, {}, { [name]: value }), argument }),
});

/** The tensor argument `variant` picks (q, k or v) replaced by `make()`. */
const tensorArg =
  (kernel: Kernel, make: (kit: Kit, name: 'q' | 'k' | 'v', value: unknown) => unknown) =>
  (kit: Kit, value: unknown, variant: number): Prepared => {
    const name = NAMES[variant % 3];
    return { call: call(kernel, kit, { [name]: make(kit, name, value) }), argument: name };
  };

const shapeOf = (name: 'q' | 'k' | 'v') => (name === 'q' ? Q : name === 'k' ? K : V);

/** A mask of `shape`, float or boolean by variant. */
const maskOf = (kit: Kit, shape: number[], variant: number): GpuTensor | GpuMask =>
  variant % 2 ? kit.m(shape) : kit.t(shape);

export function sdpaMutations(kernel: Kernel): MutationTable {
  const table: MutationTable = {
    'not a tensor': {
      values: [...NOT_TENSORS, 'a GpuMask'],
      build: tensorArg(kernel, (kit, name, value) => (value === 'a GpuMask' ? kit.m(shapeOf(name)) : value)),
    },
    rank: {
      values: [3, 5, 2],
      build: tensorArg(kernel, (kit, name, rank) => kit.t([...shapeOf(name), 1, 1].slice(0, rank as number))),
    },
    'tensor of another context': {
      values: [undefined],
      build: tensorArg(kernel, (kit, name) => kit.foreign(shapeOf(name))),
    },
    'destroyed tensor': { values: [undefined], build: tensorArg(kernel, (kit, name) => kit.destroyed(shapeOf(name))) },
    'k batch ≠ q batch': {
      values: [2, 3],
      build: (kit, b) => ({ call: call(kernel, kit, { k: kit.t([b as number, 1, 6, 4]) }), argument: 'k' }),
    },
    'v batch ≠ q batch': {
      values: [2, 3],
      build: (kit, b) => ({ call: call(kernel, kit, { v: kit.t([b as number, 1, 6, 3]) }), argument: 'v' }),
    },
    'k head dim ≠ q head dim': {
      values: [3, 5, 8],
      build: (kit, d) => ({ call: call(kernel, kit, { k: kit.t([1, 1, 6, d as number]) }), argument: 'k' }),
    },
    'v heads ≠ k heads': {
      values: [2, 3],
      build: (kit, h) => ({ call: call(kernel, kit, { v: kit.t([1, h as number, 6, 3]) }), argument: 'v' }),
    },
    'v keys ≠ k keys': {
      values: [5, 7, 1],
      build: (kit, l) => ({ call: call(kernel, kit, { v: kit.t([1, 1, l as number, 3]) }), argument: 'v' }),
    },
    'Hkv does not divide Hq': {
      values: [3, 4],
      build: (kit, h) => ({
        call: call(kernel, kit, { k: kit.t([1, h as number, 6, 4]), v: kit.t([1, h as number, 6, 3]) }),
        argument: 'k',
      }),
    },
    'bhsd shapes with layout bshd': {
      values: ['bshd'],
      build: (kit, layout) => ({ call: call(kernel, kit, {}, { layout }), argument: 'k' }),
    },
    options: {
      values: [5, 'x', true, null],
      build: (kit, value) => ({ call: call(kernel, kit, {}, value), argument: 'options' }),
    },
    scale: option(kernel, 'scale', [0, -1, NaN, Infinity, -Infinity, '1', null, true, 1e39, 3.5e38, -0]),
    softcap: option(kernel, 'softcap', [-1, NaN, Infinity, '2', null, 1e39]),
    'scale / softcap past float32': {
      values: [1e-10, 1e-30],
      build: (kit, softcap) => ({ call: call(kernel, kit, {}, { scale: 1e30, softcap }), argument: 'options.softcap' }),
    },
    causal: option(kernel, 'causal', [1, 'true', null, 0]),
    alignment: option(kernel, 'alignment', ['lower', 'LOWER-RIGHT', 1, null]),
    layout: option(kernel, 'layout', ['BHSD', 'bhds', 1, null]),
    returnLse: option(kernel, 'returnLse', [1, 'yes', null]),
    'mask that does not broadcast': {
      values: [
        [5, 7],
        [6, 6],
        [3, 5, 6],
        [1, 1, 2, 5, 6],
        [6],
        [1, 3, 5, 6],
        [2, 1, 1, 6],
        [1, 1, 1, 1, 1],
        [1, 2, 6, 5],
      ],
      build: (kit, shape, variant) => ({
        call: call(kernel, kit, {}, { mask: maskOf(kit, shape as number[], variant) }),
        argument: 'options.mask',
      }),
    },
    'mask of another kind': {
      values: [new Float32Array(30), 5, 'mask', { data: new Float32Array(30), shape: [5, 6] }, true, [[1]]],
      build: (kit, mask) => ({ call: call(kernel, kit, {}, { mask }), argument: 'options.mask' }),
    },
    'mask of another context or destroyed': {
      values: ['foreign', 'destroyed'],
      build: (kit, how) => ({
        call: call(kernel, kit, {}, { mask: how === 'foreign' ? kit.foreign([5, 6]) : kit.destroyed([5, 6]) }),
        argument: 'options.mask',
      }),
    },
    window: option(kernel, 'window', [5, 'x', true, null]),
    'window reach': {
      values: [-2, 1.5, NaN, Infinity, -Infinity, '1', undefined, null, -1.5],
      build: (kit, value, variant) => {
        const side = variant % 2 ? 'right' : 'left';
        const window = { left: 1, right: 1, [side]: value };
        if (value === undefined) delete (window as Record<string, unknown>)[side];
        return { call: call(kernel, kit, {}, { window }), argument: `options.window.${side}` };
      },
    },
    dilation: option(kernel, 'dilation', [0, -1, 1.5, NaN, '2', Infinity, null, true]),
    globalTokens: option(kernel, 'globalTokens', [[1, 1], [6], [-1], [1.5], [NaN], 5, 'x', [0, '1'], null, [0, 7, 0]]),
  };
  if (kernel === 'sdpa')
    table.tile = option(kernel, 'tile', [{ blockQ: 3, tileKv: 4 }, { blockQ: 64, tileKv: 64 }, 'big', 5, {}, null]);
  else table.returnWeights = option(kernel, 'returnWeights', [1, 'yes', null]);
  return table;
}
