/**
 * The Playground's operations, part 2: neighbourhood attention (1-D, 2-D), a multi-head layer with
 * grouped-query heads, additive and multiplicative scores, linear attention, Linformer, and decoding
 * through a KV cache. Types and the sdpa family: playground-ops.ts.
 */
import type { GpuTensor } from '../../src/index';
import { cpu, outputOf, type RefTensor } from '../core/cpu';
import { upload, type Attention } from '../core/gpu';
import { hostNormal, hostUniform, type Host } from '../core/rng';
import { destroyAll, qkv, readOutput, refOutput, type OpSpec, type Params } from './playground-ops';

function neighborhood2d(): OpSpec {
  return {
    id: 'neighborhood2d',
    label: '2-D neighbourhood attention',
    controls: ['B', 'H', 'Hkv', 'side', 'D', 'kernel'],
    prepare(attn, p) {
      const s = p.side;
      const host = [
        hostUniform([p.B, p.H, s, s, p.D], 11),
        hostUniform([p.B, p.Hkv, s, s, p.D], 12),
        hostUniform([p.B, p.Hkv, s, s, p.D], 13),
      ];
      const [q, k, v] = host.map((t) => upload(attn, t));
      const options = { kernel: Math.min(p.kernel, s - ((s + 1) % 2)) };
      return {
        call: `attn.neighborhood2d(q, k, v, { kernel: ${options.kernel} }) // q [${p.B}, ${p.H}, ${s}, ${s}, ${p.D}]`,
        launch: () => attn.neighborhood2d(q, k, v, options),
        read: readOutput,
        reference: () => refOutput('neighborhood2d', ...host, options),
        flops: 4 * p.B * p.H * s * s * options.kernel ** 2 * p.D,
        flopNote: 'kernel² keys per query',
        destroy: () => destroyAll(q, k, v),
      };
    },
  };
}

function neighborhood1d(): OpSpec {
  return {
    id: 'neighborhood1d',
    label: '1-D neighbourhood attention',
    controls: ['B', 'H', 'Hkv', 'L', 'D', 'kernel', 'causal'],
    prepare(attn, p) {
      const host = qkv(p, 21);
      const [q, k, v] = host.map((t) => upload(attn, t));
      const options = { kernel: Math.min(p.kernel, p.L - ((p.L + 1) % 2)), causal: p.causal };
      return {
        call: `attn.neighborhood1d(q, k, v, { kernel: ${options.kernel}, causal: ${p.causal} })`,
        launch: () => attn.neighborhood1d(q, k, v, options),
        read: readOutput,
        reference: () => refOutput('neighborhood1d', ...host, options),
        flops: 4 * p.B * p.H * p.L * options.kernel * p.D,
        flopNote: 'kernel keys per query (fewer near the start when causal: not subtracted)',
        destroy: () => destroyAll(q, k, v),
      };
    },
  };
}

function mha(): OpSpec {
  return {
    id: 'mha',
    label: 'multi-head layer (grouped-query heads)',
    controls: ['B', 'H', 'Hkv', 'L', 'D', 'causal'],
    prepare(attn, p) {
      const E = p.H * p.D;
      const std = 1 / Math.sqrt(E);
      const hw = {
        q: hostNormal([p.H * p.D, E], 31, std),
        k: hostNormal([p.Hkv * p.D, E], 32, std),
        v: hostNormal([p.Hkv * p.D, E], 33, std),
        o: hostNormal([E, p.H * p.D], 34, std),
      };
      const x = hostUniform([p.B, p.L, E], 35);
      const weights = Object.fromEntries(Object.entries(hw).map(([n, t]) => [n, upload(attn, t)]));
      const config = { embedDim: E, numHeads: p.H, numKvHeads: p.Hkv, headDim: p.D };
      const layer = attn.multiHeadAttention({
        ...config,
        weights: weights as Record<'q' | 'k' | 'v' | 'o', GpuTensor>,
      });
      const gx = upload(attn, x);
      const options = { causal: p.causal };
      return {
        call: `attn.multiHeadAttention({ embedDim: ${E}, numHeads: ${p.H}, numKvHeads: ${p.Hkv}, weights }).forward(x, { causal: ${p.causal} })`,
        launch: () => layer.forward(gx, options),
        read: readOutput,
        reference: async () => {
          const { result, ms } = await cpu<RefTensor>({ kind: 'mha', config: { ...config, weights: hw }, x, options });
          return { data: outputOf(result).data, ms };
        },
        flops: 2 * p.B * p.L * E * (2 * p.H + 2 * p.Hkv) * p.D + 4 * p.B * p.H * p.L * p.L * p.D,
        flopNote: 'the four projections and every query–key pair',
        destroy: () => {
          layer.destroy();
          destroyAll(gx, ...Object.values(weights));
        },
      };
    },
  };
}

/** Additive (Bahdanau) or multiplicative (Luong) attention: one head, batch first. */
function scoreOp(kind: 'additive' | 'multiplicative'): OpSpec {
  return {
    id: kind,
    label: kind === 'additive' ? 'additive (Bahdanau)' : 'multiplicative (Luong)',
    controls: kind === 'additive' ? ['B', 'L', 'D', 'width', 'causal'] : ['B', 'L', 'D', 'causal'],
    prepare(attn, p) {
      const host = [41, 42, 43].map((seed) => hostUniform([p.B, p.L, p.D], seed));
      const [q, k, v] = host.map((t) => upload(attn, t));
      const hw: Record<string, Host> =
        kind === 'additive'
          ? {
              wq: hostNormal([p.width, p.D], 44, 1 / Math.sqrt(p.D)),
              wk: hostNormal([p.width, p.D], 45, 1 / Math.sqrt(p.D)),
              va: hostNormal([p.width], 46, 1 / Math.sqrt(p.width)),
            }
          : { weight: hostNormal([p.D, p.D], 47, 1 / Math.sqrt(p.D)) };
      const gw = Object.fromEntries(Object.entries(hw).map(([n, t]) => [n, upload(attn, t)]));
      const extra = kind === 'multiplicative' ? { scale: 1 / Math.sqrt(p.D) } : {};
      const options = { ...gw, ...extra, causal: p.causal };
      const pairs = p.causal ? (p.L * (p.L + 1)) / 2 : p.L * p.L;
      return {
        call:
          kind === 'additive'
            ? `attn.additive(q, k, v, { wq, wk, va, causal: ${p.causal} }) // A = ${p.width}`
            : `attn.multiplicative(q, k, v, { weight, scale: 1/√${p.D}, causal: ${p.causal} })`,
        launch: () =>
          kind === 'additive'
            ? attn.additive(q, k, v, options as unknown as Parameters<Attention['additive']>[3])
            : attn.multiplicative(q, k, v, options as unknown as Parameters<Attention['multiplicative']>[3]),
        read: readOutput,
        reference: () => refOutput(kind, ...host, { ...hw, ...extra, causal: p.causal }),
        flops:
          kind === 'additive'
            ? 4 * p.B * p.L * p.width * p.D + p.B * pairs * (3 * p.width + 2 * p.D)
            : 2 * p.B * p.L * p.D * p.D + 4 * p.B * pairs * p.D,
        flopNote:
          kind === 'additive'
            ? 'projections, then ≈3·A per score (tanh counted as one)'
            : 'k·Wᵀ, then the scores and ·V',
        destroy: () => destroyAll(q, k, v, ...Object.values(gw)),
      };
    },
  };
}

function linearAttention(): OpSpec {
  return {
    id: 'linear',
    label: 'linear attention',
    controls: ['B', 'H', 'Hkv', 'L', 'D', 'featureMap', 'causal'],
    prepare(attn, p) {
      const host = qkv(p, 51);
      const [q, k, v] = host.map((t) => upload(attn, t));
      const options = { featureMap: p.featureMap, causal: p.causal };
      return {
        call: `attn.linearAttention(q, k, v, { featureMap: '${p.featureMap}', causal: ${p.causal} })`,
        launch: () => attn.linearAttention(q, k, v, options),
        read: readOutput,
        reference: () => refOutput('linearAttention', ...host, options),
        flops: 4 * p.B * p.H * p.L * p.D * p.D,
        flopNote: 'O(L·D·Dv): φ(k)ᵀv sums and φ(q) against them, no L × L',
        destroy: () => destroyAll(q, k, v),
      };
    },
  };
}

function linformer(): OpSpec {
  return {
    id: 'linformer',
    label: 'Linformer',
    controls: ['B', 'H', 'Hkv', 'L', 'D', 'rank'],
    prepare(attn, p) {
      const host = qkv(p, 61);
      const [q, k, v] = host.map((t) => upload(attn, t));
      const hp = [62, 63].map((seed) => hostNormal([p.rank, p.L], seed, 1 / Math.sqrt(p.L)));
      const [E, F] = hp.map((t) => upload(attn, t));
      return {
        call: `attn.linformer(q, k, v, { projectK: E, projectV: F }) // E, F [${p.rank}, ${p.L}]`,
        launch: () => attn.linformer(q, k, v, { projectK: E, projectV: F }),
        read: readOutput,
        reference: () => refOutput('linformer', ...host, { projectK: hp[0], projectV: hp[1] }),
        flops: 4 * p.B * p.Hkv * p.rank * p.L * p.D + 4 * p.B * p.H * p.L * p.rank * p.D,
        flopNote: 'E·k, F·v, then L × r scores',
        destroy: () => destroyAll(q, k, v, E, F),
      };
    },
  };
}

export { neighborhood1d, neighborhood2d, mha, scoreOp, linearAttention, linformer };
