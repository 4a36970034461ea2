/**
 * Invalid calls of attn.linear (x [3, 5], weight [4, 5], bias [4]) and of the tensor makers
 * attn.tensor, attn.mask and attn.wrap.
 */
import { NOT_TENSORS, type Kit, type MutationTable } from './invalid';

function linearCall(kit: Kit, replace: Partial<Record<'x' | 'weight' | 'bias', unknown>>): () => unknown {
  const x = 'x' in replace ? replace.x : kit.t([3, 5]);
  const weight = 'weight' in replace ? replace.weight : kit.t([4, 5]);
  const bias = 'bias' in replace ? replace.bias : kit.t([4]);
  return () => (kit.attn.linear as (...a: unknown[]) => unknown).call(kit.attn, x, weight, bias);
}

const LINEAR_SHAPES = { x: [3, 5], weight: [4, 5], bias: [4] };
const LINEAR_NAMES = ['x', 'weight', 'bias'] as const;

export const LINEAR_MUTATIONS: MutationTable = {
  'not a tensor': {
    values: [...NOT_TENSORS.filter((v) => v !== undefined), 'a GpuMask'],
    build: (kit, value, variant) => {
      const name = LINEAR_NAMES[variant % 3];
      const bad = value === 'a GpuMask' ? kit.m(LINEAR_SHAPES[name]) : value;
      return { call: linearCall(kit, { [name]: bad }), argument: name };
    },
  },
  'tensor of another context or destroyed': {
    values: ['foreign', 'destroyed'],
    build: (kit, how, variant) => {
      const name = LINEAR_NAMES[variant % 3];
      const shape = LINEAR_SHAPES[name];
      return {
        call: linearCall(kit, { [name]: how === 'foreign' ? kit.foreign(shape) : kit.destroyed(shape) }),
        argument: name,
      };
    },
  },
  'weight shape': {
    values: [[5], [4, 4], [4, 6], [1, 4, 5], [5, 4]],
    build: (kit, shape) => ({ call: linearCall(kit, { weight: kit.t(shape as number[]) }), argument: 'weight' }),
  },
  'bias shape': {
    values: [[5], [3], [1, 4], [4, 1], [1]],
    build: (kit, shape) => ({ call: linearCall(kit, { bias: kit.t(shape as number[]) }), argument: 'bias' }),
  },
};

const BAD_SHAPES: unknown[] = [[], [0], [-1], [1.5], [NaN], 'x', null, [2, Infinity], [2, '3'], undefined, 4];

export const TENSOR_MUTATIONS: MutationTable = {
  'tensor shape': {
    values: BAD_SHAPES,
    build: (kit, shape) => ({
      call: () => (kit.attn.tensor as (...a: unknown[]) => unknown).call(kit.attn, new Float32Array(4), shape),
      argument: 'shape',
    }),
  },
  'tensor data': {
    values: [
      new Float64Array(6),
      new Int32Array(6),
      new Uint8Array(6),
      'xxxxxx',
      null,
      5,
      {},
      undefined,
      new Float32Array(5),
      new Float32Array(7),
      [1, 2],
    ],
    build: (kit, data) => ({
      call: () => (kit.attn.tensor as (...a: unknown[]) => unknown).call(kit.attn, data, [2, 3]),
      argument: 'data',
    }),
  },
  'tensor data longer than a huge shape': {
    values: [[1e10], [2 ** 31, 2]],
    build: (kit, shape) => ({
      call: () => kit.attn.tensor(new Float32Array(4), shape as number[]),
      argument: 'data',
    }),
  },
  'mask shape': {
    values: BAD_SHAPES,
    build: (kit, shape) => ({
      call: () => (kit.attn.mask as (...a: unknown[]) => unknown).call(kit.attn, new Uint8Array(4), shape),
      argument: 'shape',
    }),
  },
  'mask data': {
    values: [new Float32Array(6), new Int8Array(6), 'xxxxxx', null, 7, new Uint8Array(5), [1, 0]],
    build: (kit, data) => ({
      call: () => (kit.attn.mask as (...a: unknown[]) => unknown).call(kit.attn, data, [2, 3]),
      argument: 'data',
    }),
  },
};

export const WRAP_MUTATIONS: MutationTable = {
  'not a buffer': {
    values: [null, undefined, {}, 5, 'buffer', 'a GpuTensor'],
    build: (kit, value) => {
      const buffer = value === 'a GpuTensor' ? kit.t([4]) : value;
      return {
        call: () => (kit.attn.wrap as (...a: unknown[]) => unknown).call(kit.attn, buffer, [4]),
        argument: 'buffer',
      };
    },
  },
  'buffer without STORAGE usage': {
    values: ['MAP_READ | COPY_DST', 'UNIFORM | COPY_DST'],
    build: (kit, usage) => {
      const u = GPUBufferUsage;
      const buffer = kit.buffer(64, usage === 'UNIFORM | COPY_DST' ? u.UNIFORM | u.COPY_DST : u.MAP_READ | u.COPY_DST);
      return { call: () => kit.attn.wrap(buffer, [4]), argument: 'buffer' };
    },
  },
  'wrap shape': {
    values: BAD_SHAPES,
    build: (kit, shape) => {
      const buffer = kit.buffer(64);
      return {
        call: () => (kit.attn.wrap as (...a: unknown[]) => unknown).call(kit.attn, buffer, shape),
        argument: 'shape',
      };
    },
  },
  offset: {
    values: [2, -4, 1.5, 'x', NaN, null, 1],
    build: (kit, offset) => {
      const buffer = kit.buffer(64);
      return { call: () => kit.attn.wrap(buffer, [4], { offset: offset as number }), argument: 'options.offset' };
    },
  },
  'tensor past the end of the buffer': {
    values: [[17], [4, 5], '[16] at offset 4', '[64] as bool at offset 1'],
    build: (kit, shape) => {
      const buffer = kit.buffer(64);
      const call =
        shape === '[16] at offset 4'
          ? () => kit.attn.wrap(buffer, [16], { offset: 4 })
          : shape === '[64] as bool at offset 1'
            ? () => kit.attn.wrap(buffer, [64], { offset: 1, dtype: 'bool' })
            : () => kit.attn.wrap(buffer, shape as number[]);
      return { call, argument: 'shape' };
    },
  },
  dtype: {
    values: ['bf16', 'float32', 'u8', 1, null],
    build: (kit, dtype) => {
      const buffer = kit.buffer(64);
      return {
        call: () => kit.attn.wrap(buffer, [4], { dtype } as unknown as { dtype: 'f32' }),
        argument: 'options.dtype',
      };
    },
  },
  'wrap options': {
    values: [null, 5, 'x'],
    build: (kit, options) => {
      const buffer = kit.buffer(64);
      return {
        call: () => (kit.attn.wrap as (...a: unknown[]) => unknown).call(kit.attn, buffer, [4], options),
        argument: 'options',
      };
    },
  },
};
