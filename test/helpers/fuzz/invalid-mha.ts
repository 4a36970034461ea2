/**
 * Invalid multi-head-attention layers and forward calls. The valid layer: embedDim 8, numHeads 2
 * (headDim 4), separate weights q, k, v, o [8, 8] with biases; the valid forward: x [1, 3, 8].
 */
import type { GpuTensor, MultiHeadAttention } from '../../../src/index';
import { NOT_TENSORS, type Kit, type MutationTable, type Prepared } from './invalid';

type Weights = Record<string, unknown>;

function weights(kit: Kit, packed = false): Weights {
  if (packed)
    return { inProj: kit.t([24, 8]), inProjBias: kit.t([24]), outProj: kit.t([8, 8]), outProjBias: kit.t([8]) };
  return {
    q: kit.t([8, 8]),
    k: kit.t([8, 8]),
    v: kit.t([8, 8]),
    o: kit.t([8, 8]),
    qBias: kit.t([8]),
    oBias: kit.t([8]),
  };
}

/** attn.multiHeadAttention on the valid config with `change` merged in (undefined values deleted). */
function configCall(kit: Kit, change: Record<string, unknown>, packed = false): () => unknown {
  const config: Record<string, unknown> = { embedDim: 8, numHeads: 2, weights: weights(kit, packed), ...change };
  for (const key of Object.keys(change)) if (change[key] === undefined) delete config[key];
  return () => (kit.attn.multiHeadAttention as (c: unknown) => unknown).call(kit.attn, config);
}

const configField = (name: string, values: unknown[], argument = `config.${name}`) => ({
  values,
  build: (kit: Kit, value: unknown): Prepared => ({ call: configCall(kit, { [name]: value }), argument }),
});

/** One weight replaced (separate form). */
const weightField = (values: unknown[], make: (kit: Kit, name: string, value: unknown) => unknown) => ({
  values,
  build: (kit: Kit, value: unknown, variant: number): Prepared => {
    const name = ['q', 'k', 'v', 'o', 'qBias', 'oBias'][variant % 6];
    const w = weights(kit);
    w[name] = make(kit, name, value);
    return { call: configCall(kit, { weights: w }), argument: `weights.${name}` };
  },
});

const rotary = (values: unknown[], field: string) => ({
  values,
  build: (kit: Kit, value: unknown): Prepared => ({
    call: configCall(kit, { rotary: { [field]: value } }),
    argument: `config.rotary.${field}`,
  }),
});

export const MHA_CONFIG_MUTATIONS: MutationTable = {
  config: {
    values: [null, 5, 'x', [], undefined],
    build: (kit, config) => ({
      call: () => (kit.attn.multiHeadAttention as (c: unknown) => unknown).call(kit.attn, config),
      argument: 'config',
    }),
  },
  'unknown config key': configField('dilation', [2], 'config.dilation'),
  embedDim: configField('embedDim', [0, -1, 1.5, '8', undefined, NaN, 7]),
  numHeads: {
    ...configField('numHeads', [0, 1.5, undefined, '2', 3]),
    build: (kit: Kit, value: unknown): Prepared => ({
      call: configCall(kit, { numHeads: value }),
      argument: value === 3 ? ['config.numHeads', 'config.embedDim'] : 'config.numHeads',
    }),
  },
  numKvHeads: configField('numKvHeads', [0, 3, 1.5, 4, 'x']),
  headDim: configField('headDim', [0, 1.5, -4, 'x']),
  kdim: configField('kdim', [0, 1.5, 'x', -8], 'config.kdim'),
  weights: configField('weights', [undefined, null, 5, []], 'weights'),
  'weights of both forms': {
    values: [undefined],
    build: (kit) => ({
      call: configCall(kit, { weights: { ...weights(kit), inProj: kit.t([24, 8]) } }),
      argument: 'weights',
    }),
  },
  'unknown weights key': {
    values: ['qkv', 'bias'],
    build: (kit, key) => ({
      call: configCall(kit, { weights: { ...weights(kit), [key as string]: kit.t([8]) } }),
      argument: `weights.${key}`,
    }),
  },
  'weight shape': weightField(
    ['[8,7] / [7]', '[7,8] / [9]', '[8] / [1,8]', '[64] / [8,1]', '[1,8,8] / [64]'],
    (kit, name, shapes) => {
      const [weight, bias] = (shapes as string).split(' / ').map((t) => JSON.parse(t) as number[]);
      return kit.t(name.endsWith('Bias') ? bias : weight);
    },
  ),
  'weight not a float tensor': weightField(
    [...NOT_TENSORS.filter((v) => v !== undefined), 'a GpuMask', 'foreign', 'destroyed'],
    (kit, name, what) => {
      const shape = name.endsWith('Bias') ? [8] : [8, 8];
      return what === 'a GpuMask'
        ? kit.m(shape)
        : what === 'foreign'
          ? kit.foreign(shape)
          : what === 'destroyed'
            ? kit.destroyed(shape)
            : what;
    },
  ),
  'packed with kdim ≠ embedDim': {
    values: [4, 16],
    build: (kit, kdim) => ({ call: configCall(kit, { kdim }, true), argument: 'weights.inProj' }),
  },
  'packed inProj shape': {
    values: [[16, 8], [24, 4], [24]],
    build: (kit, shape) => ({
      call: configCall(kit, { weights: { inProj: kit.t(shape as number[]), outProj: kit.t([8, 8]) } }),
      argument: 'weights.inProj',
    }),
  },
  rotary: configField('rotary', [5, 'x', null, true], 'config.rotary'),
  'rotary dim': rotary([3, 6, 0, -2, 1.5], 'dim'),
  'rotary base': rotary([0, -1, NaN, Infinity, '1'], 'base'),
  'rotary positionOffset': rotary([-1, 1.5, 'x'], 'positionOffset'),
  'rotary interleaved': rotary(['yes', 1], 'interleaved'),
  'unknown rotary key': rotary([1], 'theta'),
  'rotary with an odd headDim': {
    values: [3, 5],
    build: (kit, hd) => {
      const n = 2 * (hd as number);
      const w = { q: kit.t([n, 8]), k: kit.t([n, 8]), v: kit.t([n, 8]), o: kit.t([8, n]) };
      return { call: configCall(kit, { headDim: hd, weights: w, rotary: { dim: 2 } }), argument: 'config.headDim' };
    },
  },
};

/** A valid layer (made before the snapshot) and forward(x, options) on it. */
function forwardCall(kit: Kit, x: unknown, options: unknown, cross = false): () => unknown {
  const config = cross
    ? {
        embedDim: 8,
        numHeads: 2,
        kdim: 6,
        vdim: 5,
        weights: { q: kit.t([8, 8]), k: kit.t([8, 6]), v: kit.t([8, 5]), o: kit.t([8, 8]) },
      }
    : { embedDim: 8, numHeads: 2, weights: weights(kit) };
  const layer: MultiHeadAttention = kit.attn.multiHeadAttention(config as never);
  return () => (layer.forward as (...a: unknown[]) => unknown).call(layer, x, options);
}

/** 'a GpuMask', 'foreign', 'destroyed' and 'shape [..]' as tensors (of `shape`, or the one named); other values as they are. */
function symbolic(kit: Kit, v: unknown, shape: number[]): unknown {
  if (v === 'a GpuMask') return kit.m(shape);
  if (v === 'foreign') return kit.foreign(shape);
  if (v === 'destroyed') return kit.destroyed(shape);
  if (typeof v === 'string' && v.startsWith('shape ')) return kit.t(JSON.parse(v.slice(6)) as number[]);
  return v;
}

const forwardOption = (name: string, values: unknown[], argument = `options.${name}`) => ({
  values,
  build: (kit: Kit, value: unknown): Prepared => ({
    call: forwardCall(kit, kit.t([1, 3, 8]), { [name]: value }),
    argument,
  }),
});

export const MHA_FORWARD_MUTATIONS: MutationTable = {
  x: {
    values: [...NOT_TENSORS, 'a GpuMask', 'foreign', 'destroyed', 'shape [1,3,7]', 'shape [3,8]', 'shape [1,1,3,8]'],
    build: (kit, v) => ({ call: forwardCall(kit, symbolic(kit, v, [1, 3, 8]), undefined), argument: 'x' }),
  },
  options: {
    values: [5, 'x', [], null],
    build: (kit, o) => ({ call: forwardCall(kit, kit.t([1, 3, 8]), o), argument: 'options' }),
  },
  'unknown option': {
    values: ['dilation', 'globalTokens', 'softcap', 'layout', 'returnLse', 'returnWeights', 'foo'],
    build: (kit, key) => ({
      call: forwardCall(kit, kit.t([1, 3, 8]), { [key as string]: 1 }),
      argument: `options.${key}`,
    }),
  },
  causal: forwardOption('causal', ['yes', 1, null]),
  alignment: forwardOption('alignment', ['x', 1]),
  window: {
    values: [5, { left: -2, right: 0 }, { left: 0, right: 1.5 }],
    build: (kit, window) => ({
      call: forwardCall(kit, kit.t([1, 3, 8]), { window }),
      argument:
        typeof window === 'number'
          ? 'options.window'
          : (window as { left: number }).left === -2
            ? 'options.window.left'
            : 'options.window.right',
    }),
  },
  scale: forwardOption('scale', [0, -1, NaN, 'x', 1e39]),
  needWeights: forwardOption('needWeights', [1, 'yes', null]),
  averageHeads: forwardOption('averageHeads', [0, 'no']),
  mask: {
    values: [5, new Float32Array(9), 'shape [4,3]', 'shape [3,3,3]', 'shape [2,1,3,3]', 'foreign', 'destroyed'],
    build: (kit, v, variant) => {
      const mask =
        typeof v === 'string' && v.startsWith('shape') && variant % 2
          ? kit.m(JSON.parse(v.slice(6)))
          : symbolic(kit, v, [3, 3]);
      return { call: forwardCall(kit, kit.t([1, 3, 8]), { mask }), argument: 'options.mask' };
    },
  },
  keyPaddingMask: {
    values: ['float', 'shape [1,4]', 'shape [3]', 'shape [2,3]', 5, 'foreign'],
    build: (kit, v) => {
      const pad =
        v === 'float'
          ? kit.t([1, 3])
          : typeof v === 'string' && v.startsWith('shape')
            ? kit.m(JSON.parse(v.slice(6)))
            : symbolic(kit, v, [1, 3]);
      return { call: forwardCall(kit, kit.t([1, 3, 8]), { keyPaddingMask: pad }), argument: 'options.keyPaddingMask' };
    },
  },
  'key and value': {
    values: ['key only', 'value only', 'key width', 'value width', 'value batch', 'value keys', 'no key (kdim ≠ E)'],
    build: (kit, what) => {
      const x = kit.t([1, 3, 8]);
      const [key, value] = [kit.t([1, 4, 6]), kit.t([1, 4, 5])];
      const cases: Record<string, [Record<string, unknown> | undefined, string]> = {
        'key only': [{ key }, 'options.value'],
        'value only': [{ value }, 'options.key'],
        'key width': [{ key: kit.t([1, 4, 5]), value }, 'options.key'],
        'value width': [{ key, value: kit.t([1, 4, 6]) }, 'options.value'],
        'value batch': [{ key, value: kit.t([2, 4, 5]) }, 'options.value'],
        'value keys': [{ key, value: kit.t([1, 3, 5]) }, 'options.value'],
        'no key (kdim ≠ E)': [undefined, 'options.key'],
      };
      const [options, argument] = cases[what as string];
      return { call: forwardCall(kit, x, options, true), argument };
    },
  },
  'destroyed layer or weight': {
    values: ['layer', 'weight'],
    build: (kit, what) => {
      const w = weights(kit);
      const layer = kit.attn.multiHeadAttention({ embedDim: 8, numHeads: 2, weights: w as never });
      if (what === 'layer') layer.destroy();
      else (w.q as GpuTensor).destroy();
      const x = kit.t([1, 3, 8]);
      return { call: () => layer.forward(x), argument: what === 'layer' ? 'layer' : 'weights.q' };
    },
  },
};
