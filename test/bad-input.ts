/**
 * The bad-input matrix shared by the Node ring (test/node/errors.test.ts) and the wgpu ring: each
 * case lists calls that must throw an AttentionError on `argument` whose message contains every
 * fragment, and take no buffer and compile no pipeline (nothing enqueued). Engine-neutral: no
 * vitest, no Dawn; the rings check the rejections with their own assertions.
 *
 * @example
 * const env = makeRejectionEnv(attn, other);
 * for (const c of BAD_INPUT) for (const r of c.rejections(env)) expectRejectedOn(attn, r.call, r.argument, ...r.fragments);
 * env.dispose();
 */
import type { AttentionContext, GpuMask, GpuTensor } from '../src/index';

export interface Rejection {
  call: () => unknown;
  argument: string;
  fragments: string[];
}

export interface RejectionEnv {
  attn: AttentionContext;
  /** Another context on the same kind of device: its tensors are foreign to `attn`. */
  other: AttentionContext;
  /** A zero tensor of `shape` on `attn` (or `other`), freed by `dispose`. */
  t(shape: number[], on?: AttentionContext): GpuTensor;
  /** An app buffer on `attn`'s device, freed by `dispose`. */
  buffer(descriptor: GPUBufferDescriptor): GPUBuffer;
  /** Frees `x` in `dispose`. */
  own<T extends { destroy(): void }>(x: T): T;
  /** sdpa's inputs: q [1, 4, 7, 8], k [1, 2, 9, 8], v [1, 2, 9, 16]. */
  q: GpuTensor;
  k: GpuTensor;
  v: GpuTensor;
  dispose(): void;
}

export interface RejectionCase {
  group: 'sdpa' | 'tensor creation';
  name: string;
  rejections(env: RejectionEnv): Rejection[];
}

const zeros = (shape: number[]) => new Float32Array(shape.reduce((a, b) => a * b, 1));
const reject = (call: () => unknown, argument: string, ...fragments: string[]): Rejection => ({
  call,
  argument,
  fragments,
});

export function makeRejectionEnv(attn: AttentionContext, other: AttentionContext): RejectionEnv {
  const owned: Array<{ destroy(): void }> = [];
  const own = <T extends { destroy(): void }>(x: T): T => {
    owned.push(x);
    return x;
  };
  const t = (shape: number[], on = attn) => own(on.tensor(zeros(shape), shape));
  const buffer = (descriptor: GPUBufferDescriptor) => own(attn.device.createBuffer(descriptor));
  const [q, k, v] = [t([1, 4, 7, 8]), t([1, 2, 9, 8]), t([1, 2, 9, 16])];
  return { attn, other, t, buffer, own, q, k, v, dispose: () => owned.splice(0).forEach((o) => o.destroy()) };
}

/** The largest buffer the device can bind, in bytes. */
const bindable = (attn: AttentionContext) =>
  Math.min(attn.device.limits.maxStorageBufferBindingSize, attn.device.limits.maxBufferSize);

const SDPA: Array<[string, (env: RejectionEnv) => Rejection[]]> = [
  // Tensors are made before the calls: a rejected call must take no buffer, and making one takes one.
  [
    'wrong rank',
    ({ attn, t, k, v }) => {
      const q3 = t([4, 7, 8]);
      return [reject(() => attn.sdpa(q3, k, v), 'q', '[4, 7, 8]', '4 positive integers')];
    },
  ],
  [
    'mismatched batch',
    ({ attn, t, q, v }) => {
      const k2 = t([2, 2, 9, 8]);
      return [reject(() => attn.sdpa(q, k2, v), 'k', 'batch 2', 'batch 1')];
    },
  ],
  [
    'mismatched head dim of k',
    ({ attn, t, q, v }) => {
      const k4 = t([1, 2, 9, 4]);
      return [reject(() => attn.sdpa(q, k4, v), 'k', 'head dim 4', 'head dim 8')];
    },
  ],
  [
    'v with other keys or heads than k',
    ({ attn, t, q, k }) => {
      const [v5, v1] = [t([1, 2, 5, 16]), t([1, 1, 9, 16])];
      return [
        reject(() => attn.sdpa(q, k, v5), 'v', '5 keys', '9 keys'),
        reject(() => attn.sdpa(q, k, v1), 'v', '1 heads', '2 heads'),
      ];
    },
  ],
  [
    'Hq not a multiple of Hkv',
    ({ attn, t, q }) => {
      const [k3, v3] = [t([1, 3, 9, 8]), t([1, 3, 9, 16])];
      return [reject(() => attn.sdpa(q, k3, v3), 'k', '3 kv heads for 4 query heads')];
    },
  ],
  [
    'mask that does not broadcast',
    ({ attn, t, own, q, k, v }) => {
      const m1 = t([1, 4, 7, 5]);
      const m2: GpuMask = own(attn.mask(new Uint8Array(63), [7, 9, 1]));
      return [
        reject(() => attn.sdpa(q, k, v, { mask: m1 }), 'options.mask', '[1, 4, 7, 5]', 'right-aligned'),
        reject(() => attn.sdpa(q, k, v, { mask: m2 }), 'options.mask', '[7, 9, 1]'),
      ];
    },
  ],
  [
    'mask that is not a tensor',
    ({ attn, q, k, v }) => [
      reject(
        () => attn.sdpa(q, k, v, { mask: new Float32Array(63) as unknown as GpuTensor }),
        'options.mask',
        'GpuMask',
      ),
    ],
  ],
  [
    'non-finite or non-positive scale',
    ({ attn, q, k, v }) => [
      reject(() => attn.sdpa(q, k, v, { scale: Number.NaN }), 'options.scale', 'NaN', '> 0'),
      reject(() => attn.sdpa(q, k, v, { scale: Infinity }), 'options.scale', 'Infinity'),
      reject(() => attn.sdpa(q, k, v, { scale: 0 }), 'options.scale', '0'),
      reject(() => attn.sdpa(q, k, v, { scale: -1 }), 'options.scale', '-1'),
    ],
  ],
  [
    'negative softcap',
    ({ attn, q, k, v }) => [reject(() => attn.sdpa(q, k, v, { softcap: -2 }), 'options.softcap', '-2', '≥ 0')],
  ],
  [
    'unknown layout or alignment',
    ({ attn, q, k, v }) => [
      reject(() => attn.sdpa(q, k, v, { layout: 'bsdh' as 'bshd' }), 'options.layout', "'bsdh'"),
      reject(
        () => attn.sdpa(q, k, v, { causal: true, alignment: 'middle' as 'upper-left' }),
        'options.alignment',
        "'middle'",
      ),
    ],
  ],
  [
    'null where an option is optional (null is not "absent")',
    ({ attn, q, k, v }) => [
      reject(() => attn.sdpa(q, k, v, { alignment: null as never }), 'options.alignment', 'null'),
      reject(() => attn.sdpaNaive(q, k, v, { dilation: null as never }), 'options.dilation', 'null'),
    ],
  ],
  [
    'bad window, dilation and global tokens',
    ({ attn, q, k, v }) => {
      const w11 = { left: 1, right: 1 };
      return [
        reject(
          () => attn.sdpa(q, k, v, { window: { left: -2, right: 0 } }),
          'options.window.left',
          '-2',
          'integer ≥ −1',
        ),
        reject(() => attn.sdpa(q, k, v, { window: { left: 1, right: 0.5 } }), 'options.window.right', '0.5'),
        reject(() => attn.sdpa(q, k, v, { window: 3 as never }), 'options.window', '{ left, right }'),
        reject(() => attn.sdpa(q, k, v, { dilation: 0 }), 'options.dilation', 'integer ≥ 1'),
        reject(() => attn.sdpaNaive(q, k, v, { dilation: 1.5 }), 'options.dilation', '1.5'),
        reject(() => attn.sdpa(q, k, v, { window: w11, globalTokens: [0, 9] }), 'options.globalTokens', '9', '0 … 8'),
        reject(
          () => attn.sdpa(q, k, v, { window: w11, globalTokens: [2, 2] }),
          'options.globalTokens',
          '2 twice',
          'distinct',
        ),
        reject(() => attn.sdpa(q, k, v, { globalTokens: 4 as never }), 'options.globalTokens', 'an array'),
      ];
    },
  ],
  [
    'unknown tile',
    ({ attn, q, k, v }) => [
      reject(() => attn.sdpa(q, k, v, { tile: { blockQ: 12, tileKv: 32 } }), 'options.tile', 'blockQ'),
    ],
  ],
  [
    'a tensor from another context',
    ({ attn, other, t, k, v }) => {
      const foreign = t([1, 4, 7, 8], other);
      return [reject(() => attn.sdpa(foreign, k, v), 'q', 'context', 'this context')];
    },
  ],
  [
    'a destroyed tensor',
    ({ attn, t, q, k }) => {
      const dead = t([1, 2, 9, 16]);
      dead.destroy();
      return [reject(() => attn.sdpa(q, k, dead), 'v', 'destroyed')];
    },
  ],
  [
    'a boolean mask where a tensor is expected',
    ({ attn, own, k, v }) => {
      const boolQ = own(attn.mask(new Uint8Array(56), [1, 1, 7, 8])) as unknown as GpuTensor;
      return [reject(() => attn.sdpa(boolQ, k, v), 'q', 'GpuMask')];
    },
  ],
  [
    'the naive path refuses a score matrix past the buffer limit instead of returning garbage',
    ({ attn, t }) => {
      const L = Math.ceil(Math.sqrt(bindable(attn) / 4 / 8)) + 64;
      const big = t([1, 8, L, 1]);
      return [reject(() => attn.sdpaNaive(big, big, big), 'q', 'scores', 'attn.sdpa')];
    },
  ],
];

const TENSORS: Array<[string, (env: RejectionEnv) => Rejection[]]> = [
  [
    'data length not matching the shape',
    ({ attn }) => [
      reject(() => attn.tensor(new Float32Array(5), [2, 3]), 'data', '5 elements', '6 elements'),
      reject(() => attn.mask(new Uint8Array(5), [2, 3]), 'data', '5 elements', '6 elements'),
    ],
  ],
  [
    'bad shapes and data types',
    ({ attn }) => [
      reject(() => attn.tensor(new Float32Array(0), []), 'shape', 'non-empty'),
      reject(() => attn.tensor(new Float32Array(6), [2, 3.5]), 'shape'),
      reject(() => attn.tensor(new Float64Array(6) as unknown as Float32Array, [2, 3]), 'data', 'Float64Array'),
    ],
  ],
  [
    'sizes past the device buffer limit',
    ({ attn }) => {
      // A tensor may pass one binding (sdpa splits its work), never the largest buffer the device makes.
      const n = attn.device.limits.maxBufferSize / 4 + 1;
      const huge = { length: n } as unknown as number[];
      return [reject(() => attn.tensor(Object.assign([], huge), [n]), 'data', 'bytes', 'buffer size limit')];
    },
  ],
  [
    'wrap: offsets, sizes and usage',
    ({ attn, buffer }) => {
      const b = buffer({ size: 64, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
      const uniform = buffer({ size: 64, usage: GPUBufferUsage.UNIFORM });
      return [
        reject(() => attn.wrap(b, [4, 4], { offset: 4 }), 'shape', 'within the buffer'),
        reject(() => attn.wrap(b, [2], { offset: 2 }), 'options.offset', 'multiple of 4'),
        reject(() => attn.wrap(uniform, [4]), 'buffer', 'STORAGE'),
        reject(() => attn.wrap({} as GPUBuffer, [4]), 'buffer', 'GPUBuffer'),
        reject(() => attn.wrap(b, [4], null as never), 'options', 'null', 'an object'),
        reject(() => attn.wrap(b, [4], 5 as never), 'options', '5', 'an object'),
        reject(() => attn.wrap(b, [4], { offset: null as never }), 'options.offset', 'null'),
        reject(() => attn.wrap(b, [4], { dtype: null as never }), 'options.dtype', 'null'),
        // Bindings are whole words: 63 bytes from offset 3 end at 66, rounded to 68 > 64.
        reject(() => attn.wrap(b, [63], { offset: 3, dtype: 'bool' }), 'shape', '68 rounded up', 'within'),
      ];
    },
  ],
];

export const BAD_INPUT: RejectionCase[] = [
  ...SDPA.map(([name, rejections]) => ({ group: 'sdpa' as const, name, rejections })),
  ...TENSORS.map(([name, rejections]) => ({ group: 'tensor creation' as const, name, rejections })),
];
