/**
 * The dispatches of one multi-head-attention forward: projection GEMMs writing Q, K and V straight
 * into the layout attention reads, the attention kernel on views of those buffers, and the output
 * projection reading attention's output where it lies. Nothing here takes a buffer.
 */
import type { ResolvedMhaConfig, ValidatedMhaForward } from '../../contract/multi-head-options';
import type { GpuRuntime, KernelDispatch } from '../../gpu/runtime';
import type { GpuMask, GpuTensor } from '../../tensor';
import { encodeMatmul, operandOf, plainOutput, type MatmulOperand, type MatmulRotary } from '../linear/encode';
import type { MatmulPlan } from '../linear/plan';
import { encodeFlash } from '../sdpa/encode';
import { encodeNaive } from '../sdpa/encode-naive';
import type { AttentionOperands } from '../sdpa/operands';
import { sliceLayout, type HeadSlice, type LayerPlan, type MhaBuffer, type MhaPlan, type ProjectionStep } from './plan';

/** The buffers one forward writes: the projections' outputs (with a cache: its stores), attention's output, the layer's output, the weights. */
export interface LayerBuffers {
  projections: Partial<Record<MhaBuffer, GPUBufferBinding>>;
  /** Whether a KV cache's stores ('keys', 'values') hold f16: K and V are written and read as halves. */
  halfStores: boolean;
  attention: GPUBufferBinding;
  output: GPUBufferBinding;
  /** With needWeights: per-head weights [B, H, L, Lk], and their mean over heads when averaged. */
  weights: { perHead: GPUBufferBinding; averaged?: GPUBufferBinding } | null;
}

/** The rotary cos/sin table a projection reads (see rotaryTable), with its number of positions. */
export interface RotaryTable {
  tensor: GpuTensor;
  positions: number;
}

type Config = ResolvedMhaConfig<GpuTensor>;

const shift = (o: MatmulOperand, by: number): MatmulOperand => ({ ...o, elementOffset: o.elementOffset + by });

/** One projection GEMM: input rows times the step's weight rows, into its head slice (rotary in the epilogue). */
export function encodeProjection(
  runtime: GpuRuntime,
  c: Config,
  s: ProjectionStep<GpuTensor>,
  plan: MatmulPlan,
  x: GpuTensor,
  buffers: LayerBuffers,
  table: RotaryTable | null,
): KernelDispatch {
  const out = sliceLayout(s.out, c.headDim);
  const r = c.rotary;
  const rotary: MatmulRotary | undefined =
    r && table && s.rotaryColumns > 0
      ? {
          table: operandOf(table.tensor),
          positions: table.positions,
          rotDim: r.dim,
          colBegin: 0,
          colEnd: s.rotaryColumns,
          positionOffset: s.position,
          halfSplit: !r.interleaved,
        }
      : undefined;
  const strides = { strideB: out.strides[0], strideL: out.strides[2], strideH: out.strides[1] };
  return encodeMatmul(
    runtime,
    {
      x: operandOf(x),
      xStrideM: s.K,
      M: s.M,
      K: s.K,
      weight: shift(operandOf(s.weight), s.row * s.K),
      N: s.N,
      bias: s.bias && shift(operandOf(s.bias), s.row),
      out: {
        buffer: buffers.projections[s.out.buffer]!,
        elementOffset: out.elementOffset,
        rowsPerBatch: s.out.length,
        headDim: c.headDim,
        ...strides,
        // An f16 cache's store: rounded to f16 in the epilogue, a pair of columns per word (headDim is even).
        f16: buffers.halfStores && s.out.cache !== undefined,
      },
      rotary,
    },
    plan,
  );
}

/** Attention's operands: views of the projection buffers, the output [B, L, Hq, headDim] in `attention`. */
export function layerOperands(
  c: Config,
  call: ValidatedMhaForward<GpuTensor>,
  layout: MhaPlan<GpuTensor>,
  buffers: LayerBuffers,
): AttentionOperands {
  const { headDim: hd, numHeads: Hq } = c;
  const view = (slice: HeadSlice) => ({
    resource: buffers.projections[slice.buffer]!,
    ...sliceLayout(slice, hd),
    f16: buffers.halfStores && slice.cache !== undefined,
  });
  return {
    dims: call.sdpaDims,
    options: call.attention,
    q: view(layout.q),
    k: view(layout.k),
    v: view(layout.v),
    out: { resource: buffers.attention, elementOffset: 0, strides: [call.L * Hq * hd, hd, Hq * hd] },
    mask: call.mask && { mask: call.mask.tensor, strides: call.mask.strides },
    keyPadding: call.keyPaddingMask as unknown as GpuMask | null, // checked boolean by validateMhaForward
  };
}

/** The flash kernel, or the naive passes writing the weights (and their mean over heads). */
export function encodeLayerAttention(
  runtime: GpuRuntime,
  ops: AttentionOperands,
  plan: LayerPlan<GpuTensor>['attention'],
  weights: LayerBuffers['weights'],
): KernelDispatch[] {
  if ('flash' in plan) {
    return encodeFlash(runtime, ops, plan.flash, null);
  }
  const { perHead, averaged } = weights!;
  return encodeNaive(runtime, ops, plan.naive, {
    weights: perHead,
    lse: null,
    headMean: averaged,
    returnWeights: !averaged,
  });
}

/** y [B·L, E] = heads [B·L, Hq·headDim] · oᵀ + oBias, reading attention's output where it lies. */
export function encodeOutProjection(
  runtime: GpuRuntime,
  c: Config,
  call: ValidatedMhaForward<GpuTensor>,
  plan: MatmulPlan,
  buffers: LayerBuffers,
): KernelDispatch {
  const [M, K, N] = [call.B * call.L, c.numHeads * c.headDim, c.embedDim];
  return encodeMatmul(
    runtime,
    {
      x: { buffer: buffers.attention, elementOffset: 0 },
      xStrideM: K,
      M,
      K,
      weight: operandOf(c.o.weight),
      N,
      bias: c.o.bias && operandOf(c.o.bias),
      out: plainOutput(buffers.output, M, N),
    },
    plan,
  );
}
