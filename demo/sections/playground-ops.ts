/**
 * The Playground's operations, part 1: what each needs from the form, how it runs on the GPU, its
 * float64 twin in the worker, and how many FLOPs it does. This file: the sdpa family (full, causal,
 * sliding window, sigmoid, top-k, block-sparse); playground-ops-more.ts has the others.
 */
import { sparsePatterns, type BlockMask, type GpuTensor, type SdpaOptions } from '../../src/index';
import { cpuCall, outputOf, type RefTensor } from '../core/cpu';
import { upload, type Attention, type Outputs } from '../core/gpu';
import { hostUniform, type Host } from '../core/rng';

/** Everything the form can set; each op reads the fields it lists in `controls`. */
export interface Params {
  B: number;
  H: number;
  Hkv: number;
  L: number;
  D: number;
  causal: boolean;
  window: number;
  kernel: number;
  side: number;
  topK: number;
  block: number;
  rank: number;
  width: number;
  steps: number;
  featureMap: 'elu+1' | 'relu';
}

export type Control = keyof Params;

/** One op, ready to run: inputs uploaded, nothing enqueued yet. */
export interface Prepared {
  /** The call, as code a reader could copy. */
  call: string;
  /** One run: enqueues the work and returns what it made (the caller destroys it). */
  launch(): Outputs;
  /** The output that is compared with the reference. */
  read(o: Outputs): Promise<Float32Array>;
  /** The float64 reference of the same call, in the worker. */
  reference(): Promise<{ data: Float64Array; ms: number }>;
  flops: number;
  flopNote: string;
  /** Divides the measured time (decoding reports per token). */
  perRun?: { count: number; unit: string };
  destroy(): void;
}

export interface OpSpec {
  id: string;
  label: string;
  controls: Control[];
  prepare(attn: Attention, p: Params): Prepared;
}

/** Reads any op's main output tensor. */
export function readOutput(o: Outputs): Promise<Float32Array> {
  const t = 'read' in o && typeof o.read === 'function' ? (o as GpuTensor) : (o as { output: GpuTensor }).output;
  return t.read();
}

/** Runs `reference.<fn>` in the worker and returns its output. */
export async function refOutput(fn: string, ...args: unknown[]): Promise<{ data: Float64Array; ms: number }> {
  const { result, ms } = await cpuCall<RefTensor>(fn, ...args);
  return { data: outputOf(result).data, ms };
}

/** q, k, v for attention in bhsd: q [B, H, L, D], k and v [B, Hkv, L, D]. */
export function qkv(p: Params, seed = 1): [Host, Host, Host] {
  return [
    hostUniform([p.B, p.H, p.L, p.D], seed),
    hostUniform([p.B, p.Hkv, p.L, p.D], seed + 1),
    hostUniform([p.B, p.Hkv, p.L, p.D], seed + 2),
  ];
}

/** Destroys tensors that may be absent. */
export function destroyAll(...ts: Array<{ destroy(): void } | undefined>): void {
  for (const t of ts) t?.destroy();
}

/** Query–key pairs a window of ±w keeps in an L × L map. */
export function windowPairs(L: number, w: number): number {
  let n = 0;
  for (let i = 0; i < L; i++) n += Math.min(L - 1, i + w) - Math.max(0, i - w) + 1;
  return n;
}

/** Pairs a block mask keeps: on blocks × their (clipped) area. */
function blockPairs(bm: BlockMask, L: number): number {
  const [bq, bk] = bm.blockSize;
  const n = bm.mask.shape[3];
  let pairs = 0;
  for (let a = 0; a < bm.mask.shape[2]; a++) {
    for (let c = 0; c < n; c++) {
      if (bm.mask.data[a * n + c]) pairs += (Math.min(L, (a + 1) * bq) - a * bq) * (Math.min(L, (c + 1) * bk) - c * bk);
    }
  }
  return pairs;
}

/** An sdpa-family op: the same q, k, v, the options `optionsOf` makes, and a pair count for FLOPs. */
function sdpaOp(
  id: string,
  label: string,
  controls: Control[],
  optionsOf: (p: Params) => { options: SdpaOptions; pairs: number; note: string; text: string },
): OpSpec {
  return {
    id,
    label,
    controls: ['B', 'H', 'Hkv', 'L', 'D', ...controls],
    prepare(attn, p) {
      const host = qkv(p);
      const [q, k, v] = host.map((t) => upload(attn, t));
      const { options, pairs, note, text } = optionsOf(p);
      return {
        call: `attn.sdpa(q, k, v${text ? `, ${text}` : ''})`,
        launch: () => attn.sdpa(q, k, v, options),
        read: readOutput,
        reference: () => refOutput('sdpa', ...host, options),
        flops: 4 * p.B * p.H * pairs * p.D,
        flopNote: note,
        destroy: () => destroyAll(q, k, v),
      };
    },
  };
}

const dense = (p: Params) => p.L * p.L;

export const SDPA_OPS: OpSpec[] = [
  sdpaOp('full', 'full attention (flash sdpa)', [], (p) => ({
    options: {},
    pairs: dense(p),
    note: 'every query–key pair',
    text: '',
  })),
  sdpaOp('causal', 'causal attention', [], (p) => ({
    options: { causal: true },
    pairs: (p.L * (p.L + 1)) / 2,
    note: 'only the pairs the causal mask keeps',
    text: '{ causal: true }',
  })),
  sdpaOp('window', 'sliding window', ['window'], (p) => ({
    options: { window: { left: p.window, right: p.window } },
    pairs: windowPairs(p.L, p.window),
    note: 'only the pairs inside the window',
    text: `{ window: { left: ${p.window}, right: ${p.window} } }`,
  })),
  sdpaOp('sigmoid', 'sigmoid attention', [], (p) => ({
    options: { normalization: 'sigmoid' },
    pairs: dense(p),
    note: 'every query–key pair',
    text: "{ normalization: 'sigmoid' }",
  })),
  sdpaOp('topk', 'top-k / hard attention', ['topK'], (p) => ({
    options: { topK: p.topK },
    pairs: dense(p),
    note: 'every pair (each score is computed before the top k are kept)',
    text: `{ topK: ${p.topK} }`,
  })),
  sdpaOp('blocksparse', 'block-sparse (BigBird)', ['block'], (p) => {
    const blockMask = sparsePatterns.bigBird({ length: p.L, blockSize: p.block, window: 3, global: 1, random: 1 });
    return {
      options: { blockMask },
      pairs: blockPairs(blockMask, p.L),
      note: 'only the pairs inside blocks that are on',
      text: `{ blockMask: sparsePatterns.bigBird({ length: ${p.L}, blockSize: ${p.block}, window: 3, global: 1, random: 1 }) }`,
    };
  }),
];
