/**
 * The multi-head-attention part of `npm run bench` (issue #5): a BERT-base layer (B=1, E=768, 12
 * heads, packed inProj with biases) and a GQA decoder layer (E=2048, 32 q heads, 8 kv heads,
 * causal, NeoX rotary, separate weights): ms per `mha.forward`, checked once against the float64
 * reference (bench/mha-layers.ts), then split into its parts, each timed alone with the same
 * shapes and the same pipelines: the Q/K/V GEMM(s) (encodeMatmul with the layer's head-split
 * epilogue, bias and rotary), the output GEMM, and attention (attn.sdpa on bshd tensors of the
 * layer's sizes, GQA and causal as in the layer).
 */
import type { AttentionContext, GpuTensor, MhaConfig, MultiHeadAttention } from '../src/index';
import type { KernelDispatch } from '../src/gpu/runtime';
import { encodeMatmul, operandOf, rotaryTable, type MatmulCall, type MatmulOperand } from '../src/ops/linear/encode';
import { randomData } from './check';
import {
  benchLayers,
  expectedRows,
  layerFlops,
  makeLayerData,
  packRows,
  worstRowError,
  type HostWeights,
  type LayerSpec,
} from './mha-layers';
import type { Cell } from './report';
import { timeRuns, type RunPolicy } from './timing';

export interface MhaOptions {
  policy: RunPolicy;
  /** L of the BERT layer and of the GQA layer. */
  lengths: [number, number];
  /** Largest reference.multiHeadAttention (in multiply-adds) run on the whole layer; past it, sampled rows. */
  referenceMaxMacs: number;
}

/** A timed part: its FLOPs and a Cell. */
export interface MhaPart extends Cell {
  flops: number;
}

export interface MhaRow {
  spec: LayerSpec;
  forward: MhaPart;
  inProj: MhaPart;
  outProj: MhaPart;
  attention: MhaPart;
  referenceMs?: number;
}

/** The layer's tensors on the GPU and the layer itself. */
interface GpuLayer {
  layer: MultiHeadAttention;
  x: GpuTensor;
  w: Record<string, GpuTensor>;
  owned: GpuTensor[];
}

function gpuLayer(attn: AttentionContext, s: LayerSpec, h: HostWeights, x: Float32Array): GpuLayer {
  const owned: GpuTensor[] = [];
  const t = (data: Float32Array, shape: number[]) => {
    const g = attn.tensor(data, shape);
    owned.push(g);
    return g;
  };
  const [qRows, kvRows] = [s.Hq * s.hd, s.Hkv * s.hd];
  const w: Record<string, GpuTensor> = s.packed
    ? { inProj: t(packRows(h.q, h.k, h.v), [qRows + 2 * kvRows, s.E]), outProj: t(h.o, [s.E, qRows]) }
    : { q: t(h.q, [qRows, s.E]), k: t(h.k, [kvRows, s.E]), v: t(h.v, [kvRows, s.E]), o: t(h.o, [s.E, qRows]) };
  if (s.bias && s.packed)
    Object.assign(w, {
      inProjBias: t(packRows(h.qBias!, h.kBias!, h.vBias!), [qRows + 2 * kvRows]),
      outProjBias: t(h.oBias!, [s.E]),
    });
  if (s.bias && !s.packed)
    Object.assign(w, {
      qBias: t(h.qBias!, [qRows]),
      kBias: t(h.kBias!, [kvRows]),
      vBias: t(h.vBias!, [kvRows]),
      oBias: t(h.oBias!, [s.E]),
    });
  const config: MhaConfig = {
    embedDim: s.E,
    numHeads: s.Hq,
    numKvHeads: s.Hkv,
    headDim: s.hd,
    weights: w as unknown as MhaConfig['weights'],
    rotary: s.rotary ? {} : undefined,
  };
  return { layer: attn.multiHeadAttention(config), x: t(x, [1, s.L, s.E]), w, owned };
}

/**
 * The layer's GEMMs as it encodes them (multi-head.ts): Q, K, V into one [L, Hq + 2·Hkv, hd]
 * buffer split by heads (one GEMM for packed weights), then heads [L, Hq·hd] · oᵀ.
 */
function gemmDispatches(
  attn: AttentionContext,
  s: LayerSpec,
  g: GpuLayer,
  scratch: { qkv: GpuTensor; heads: GpuTensor; y: GpuTensor; rot: GpuTensor | null },
) {
  const heads = s.Hq + 2 * s.Hkv;
  const qkvOut = (firstHead: number) => ({
    ...operandOf(scratch.qkv),
    elementOffset: firstHead * s.hd,
    rowsPerBatch: s.L,
    headDim: s.hd,
    strideB: s.L * heads * s.hd,
    strideL: heads * s.hd,
    strideH: s.hd,
  });
  const rotary = (columns: number) =>
    scratch.rot && columns > 0
      ? {
          table: operandOf(scratch.rot),
          positions: s.L,
          rotDim: s.hd,
          colBegin: 0,
          colEnd: columns,
          positionOffset: 0,
          halfSplit: true,
        }
      : undefined;
  const gemm = (
    weight: GpuTensor,
    N: number,
    bias: GpuTensor | undefined,
    firstHead: number,
    rotCols: number,
  ): MatmulCall => ({
    x: operandOf(g.x),
    xStrideM: s.E,
    M: s.L,
    K: s.E,
    weight: operandOf(weight),
    N,
    bias: bias && operandOf(bias),
    out: qkvOut(firstHead),
    rotary: rotary(rotCols),
  });
  const calls = s.packed
    ? [gemm(g.w.inProj, heads * s.hd, g.w.inProjBias, 0, (s.Hq + s.Hkv) * s.hd)]
    : [
        gemm(g.w.q, s.Hq * s.hd, g.w.qBias, 0, s.Hq * s.hd),
        gemm(g.w.k, s.Hkv * s.hd, g.w.kBias, s.Hq, s.Hkv * s.hd),
        gemm(g.w.v, s.Hkv * s.hd, g.w.vBias, s.Hq + s.Hkv, 0),
      ];
  const K = s.Hq * s.hd;
  const y: MatmulOperand = operandOf(scratch.y);
  const out: MatmulCall = {
    x: operandOf(scratch.heads),
    xStrideM: K,
    M: s.L,
    K,
    weight: operandOf(g.w.o ?? g.w.outProj),
    N: s.E,
    bias: (g.w.oBias ?? g.w.outProjBias) && operandOf(g.w.oBias ?? g.w.outProjBias),
    out: { ...y, rowsPerBatch: s.L, headDim: s.E, strideB: s.L * s.E, strideL: s.E, strideH: 0 },
  };
  const encode = (c: MatmulCall): KernelDispatch => encodeMatmul(attn.runtime, c);
  return { inProj: () => calls.map(encode), outProj: () => [encode(out)] };
}

/**
 * Times `once` with compiled pipelines: a run that compiles is a warm-up; a first compiled run
 * longer than half the budget is the only sample (as bench/local.ts), else `policy`.
 */
async function timeWarm(
  attn: AttentionContext,
  once: () => Promise<void>,
  policy: RunPolicy,
): Promise<{ ms: number; runs: number }> {
  const pipelines = attn.stats.pipelines;
  let t0 = performance.now();
  await once();
  if (attn.stats.pipelines > pipelines) {
    t0 = performance.now();
    await once();
  }
  const firstMs = performance.now() - t0;
  if (firstMs > (policy.budgetS * 1000) / 2) return { ms: firstMs, runs: 1 };
  const t = await timeRuns(once, { ...policy, warmup: 0 });
  return { ms: t.medianMs, runs: t.runs };
}

async function part(
  attn: AttentionContext,
  flops: number,
  once: () => Promise<void>,
  policy: RunPolicy,
): Promise<MhaPart> {
  try {
    const { ms, runs } = await timeWarm(attn, once, policy);
    return { flops, ms, runs, gflops: flops / (ms * 1e6) };
  } catch (error) {
    return { flops, skipped: (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 160) };
  }
}

/** The three parts, each alone: in-projection GEMM(s), output GEMM, attention (attn.sdpa, bshd). */
async function timeParts(
  attn: AttentionContext,
  s: LayerSpec,
  g: GpuLayer,
  policy: RunPolicy,
): Promise<Pick<MhaRow, 'inProj' | 'outProj' | 'attention'>> {
  const f = layerFlops(s);
  const zeros = (n: number, shape: number[]) => attn.tensor(new Float32Array(n), shape);
  const qkvN = s.L * (s.Hq + 2 * s.Hkv) * s.hd;
  const scratch = {
    qkv: zeros(qkvN, [qkvN]),
    heads: attn.tensor(randomData(s.L * s.Hq * s.hd, 21), [s.L, s.Hq * s.hd]),
    y: zeros(s.L * s.E, [s.L, s.E]),
    rot: s.rotary ? rotaryTable(attn.runtime, s.L, s.hd) : null,
  };
  const [q, k, v] = [
    [s.Hq, 31],
    [s.Hkv, 32],
    [s.Hkv, 33],
  ].map(([h, seed]) => attn.tensor(randomData(s.L * h * s.hd, seed), [1, s.L, h, s.hd]));
  const d = gemmDispatches(attn, s, g, scratch);
  const done = () => attn.device.queue.onSubmittedWorkDone();
  const gemm = (label: string, encode: () => KernelDispatch[]) => async () => {
    await attn.runtime.run(label, encode());
    await done();
  };
  try {
    return {
      inProj: await part(attn, f.inProj, gemm('bench mha in-projection', d.inProj), policy),
      outProj: await part(attn, f.outProj, gemm('bench mha out-projection', d.outProj), policy),
      attention: await part(
        attn,
        f.attention,
        async () => {
          attn.sdpa(q, k, v, { causal: s.causal, layout: 'bshd' }).destroy();
          await done();
        },
        policy,
      ),
    };
  } finally {
    [...Object.values(scratch), q, k, v].forEach((t) => t?.destroy());
  }
}

/** One layer: checked forward, timed forward, timed parts. */
async function benchLayer(
  attn: AttentionContext,
  s: LayerSpec,
  seed: number,
  options: MhaOptions,
  log: (line: string) => void,
): Promise<MhaRow> {
  const { weights, x } = makeLayerData(s, seed);
  const t0 = performance.now();
  const { expected, checked } = expectedRows(s, weights, x, options.referenceMaxMacs);
  const referenceMs = performance.now() - t0;
  log(`  ${s.name} L=${s.L}: reference (${checked}) ${(referenceMs / 1000).toFixed(1)} s`);
  const g = gpuLayer(attn, s, weights, x);
  const flops = layerFlops(s).total;
  try {
    const first = g.layer.forward(g.x, { causal: s.causal });
    const error = worstRowError(await first.read(), expected, s.E);
    first.destroy();
    const forward = {
      ...(await part(
        attn,
        flops,
        async () => {
          g.layer.forward(g.x, { causal: s.causal }).destroy();
          await attn.device.queue.onSubmittedWorkDone();
        },
        options.policy,
      )),
      error,
      checked,
    };
    log(`  ${s.name} L=${s.L}: forward ${forward.ms?.toFixed(0)} ms, err/tol ${error.toFixed(3)}`);
    return { spec: s, forward, ...(await timeParts(attn, s, g, options.policy)), referenceMs };
  } finally {
    g.layer.destroy();
    g.owned.forEach((t) => t.destroy());
  }
}

/** Runs both layers (one skipped row, with the reason, if a layer throws). */
export async function benchMha(
  attn: AttentionContext,
  options: MhaOptions,
  log: (line: string) => void,
): Promise<MhaRow[]> {
  const rows: MhaRow[] = [];
  for (const [i, s] of benchLayers(...options.lengths).entries()) {
    try {
      rows.push(await benchLayer(attn, s, 100 * (i + 1), options, log));
    } catch (error) {
      const skipped = (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 160);
      const f = layerFlops(s);
      rows.push({
        spec: s,
        forward: { flops: f.total, skipped },
        inProj: { flops: f.inProj, skipped },
        outProj: { flops: f.outProj, skipped },
        attention: { flops: f.attention, skipped },
      });
    }
    log(`  ${s.name} done`);
  }
  return rows;
}

const fmtMs = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const fmtRate = (g: number) => (g >= 10 ? g.toFixed(1) : g >= 1 ? g.toFixed(2) : g.toFixed(3));
const cell = (c: MhaPart) =>
  c.ms === undefined ? `— (${c.skipped ?? 'not run'})` : `${fmtMs(c.ms)} (×${c.runs}) · ${fmtRate(c.gflops!)}`;

function tableRow(r: MhaRow): string {
  const s = r.spec;
  const shape = `L=${s.L}, E=${s.E}, ${s.Hq}${s.Hkv !== s.Hq ? `/${s.Hkv}` : ''} heads${s.causal ? ', causal' : ''}${s.rotary ? ', rotary' : ''}${s.packed ? ', packed+bias' : ''}`;
  const { forward: f, inProj: a, outProj: b, attention: c } = r;
  const sum = a.ms !== undefined && b.ms !== undefined && c.ms !== undefined ? a.ms + b.ms + c.ms : undefined;
  const gemm = sum !== undefined ? (a.flops + b.flops) / ((a.ms! + b.ms!) * 1e6) : undefined;
  const wrong = f.error !== undefined && !(f.error <= 1) ? ' **WRONG**' : '';
  return `| ${s.name} | ${shape} | ${cell(f)}${wrong} | ${cell(a)} | ${cell(b)} | ${cell(c)} | ${sum !== undefined && f.ms ? `${fmtMs(sum)} (${(sum / f.ms).toFixed(2)}×)` : '—'} | ${gemm !== undefined && c.gflops ? `${fmtRate(gemm)} vs ${fmtRate(c.gflops)} (${(gemm / c.gflops).toFixed(2)}×)` : '—'} | ${f.error?.toFixed(3) ?? '—'} (${f.checked ?? '—'}) |`;
}

/**
 * The markdown table of the MHA bench with the notes that say how to read it.
 * @example
 * console.log(mhaTable(await benchMha(attn, options, console.error)));
 */
export function mhaTable(rows: readonly MhaRow[]): string {
  return [
    '### Multi-head attention layers, B=1, self-attention, head dim 64',
    '',
    '| layer | shape | forward ms (×runs) · GFLOP/s | Q/K/V GEMM ms · GFLOP/s | out GEMM ms · GFLOP/s | attention ms · GFLOP/s | parts sum (÷ forward) | GEMM vs attention GFLOP/s | check err/tol |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map(tableRow),
    '',
    '- forward: `mha.forward(x)` (every dispatch in one submission), median wall clock call → onSubmittedWorkDone after warm-up; ×1: a long first run with compiled pipelines is the only sample.',
    "- Parts are timed alone with the layer's shapes and pipelines: the Q/K/V projection GEMM(s) (BERT: one packed GEMM with bias; GQA: three, rotary on q and k) and the output GEMM through `runtime.run`, attention through `attn.sdpa` on bshd tensors (GQA and causal as in the layer; K/V not interleaved with Q in one buffer as in the layer).",
    '- FLOPs: GEMM 2·M·N·K; attention 4·B·H·Lq·Lk·D over the unmasked pairs (causal: the lower triangle); forward = their sum. "GEMM" = both GEMM parts together.',
    '- check: worst |gpu − ref| / (2e-5 + 1e-4·|ref|) of the forward output against float64 (`full`: reference.multiHeadAttention on the layer; `N rows`: a row-wise reference on sampled rows).',
  ].join('\n');
}
