/**
 * `attn.multiHeadAttention`: a multi-head-attention layer on the GPU (projections in PyTorch's
 * layouts, grouped-query heads, rotary embeddings, key-padding masks, the output projection).
 * validate (src/ops/mha-validate.ts, shared with the CPU reference) → plan (multi-head-plan.ts and
 * the kernels' plans) → encode: every dispatch of one forward goes in one `runtime.run`.
 */
import { AttentionError, describe } from '../errors';
import type { GpuRuntime, KernelDispatch } from '../gpu/runtime';
import { GpuMask, GpuTensor } from '../tensor';
import { checkFits } from './attention-args';
import { encodeMatmul, operandOf, rotaryTable, type MatmulOperand, type MatmulRotary } from './matmul-encode';
import { planMatmul, type MatmulPlan } from './matmul-plan';
import {
  validateMhaConfig,
  validateMhaForward,
  type MhaConfigOf,
  type MhaForwardOptionsOf,
  type ResolvedMhaConfig,
  type TensorChecks,
  type ValidatedMhaForward,
} from './mha-validate';
import {
  planMha,
  sliceLayout,
  type HeadSlice,
  type MhaBuffer,
  type MhaPlan,
  type ProjectionStep,
} from './multi-head-plan';
import { encodeFlash, planFlash, type AttentionOperands, type FlashPlan } from './sdpa';
import { encodeNaive, planNaive, type NaiveGrid } from './sdpa-naive';

/** Config of `attn.multiHeadAttention`: weights are GpuTensors of the context. */
export type MhaConfig = MhaConfigOf<GpuTensor>;

/** Options of `forward`: key and value GpuTensors, a float or boolean mask, a GpuMask key-padding mask. */
export type MhaForwardOptions = MhaForwardOptionsOf<GpuTensor, GpuTensor | GpuMask, GpuMask>;

/** What `forward` returns with `needWeights: true`. */
export interface MhaOutputs {
  /** [B, L, embedDim]. */
  output: GpuTensor;
  /** [B, L, Lk] averaged over heads (averageHeads, the default), or [B, numHeads, L, Lk]. */
  weights: GpuTensor;
}

type Tensor = GpuTensor | GpuMask;

/** Tensors on this path: GpuTensor or GpuMask of this context, live, within the device's limits. */
function gpuChecks(runtime: GpuRuntime): TensorChecks<Tensor> {
  return {
    tensor(argument, value) {
      if (!(value instanceof GpuTensor) && !(value instanceof GpuMask)) {
        throw new AttentionError(
          argument,
          describe(value),
          'a GpuTensor (or GpuMask for a boolean mask) made by attn.tensor(), attn.mask() or attn.wrap()',
        );
      }
      value.assertUsable(argument, runtime);
      return value;
    },
    isBool: (t) => t instanceof GpuMask,
    contents: (argument, t) => checkFits(runtime.device, argument, t.size, t.size * t.bytesPerElement),
  };
}

/** The layer's weights with the names the config gave them. */
function namedWeights(c: ResolvedMhaConfig<Tensor>): [string, Tensor | undefined][] {
  if (c.packed)
    return [
      ['inProj', c.q.weight],
      ['inProjBias', c.q.bias],
      ['outProj', c.o.weight],
      ['outProjBias', c.o.bias],
    ];
  return [
    ['q', c.q.weight],
    ['k', c.k.weight],
    ['v', c.v.weight],
    ['o', c.o.weight],
    ['qBias', c.q.bias],
    ['kBias', c.k.bias],
    ['vBias', c.v.bias],
    ['oBias', c.o.bias],
  ];
}

/** What encode needs, all checked against the device: nothing past this point throws an AttentionError. */
interface DevicePlan {
  layout: MhaPlan<GpuTensor>;
  projections: MatmulPlan[];
  outProjection: MatmulPlan;
  attention: { flash: FlashPlan } | { naive: NaiveGrid };
}

/** The rotary cos/sin table, shared by every forward of a layer and grown to the longest sequence. */
interface RotaryCache {
  tensor: GpuTensor;
  positions: number;
}

/**
 * A multi-head-attention layer on the GPU, made by `attn.multiHeadAttention(config)`. Holds the
 * weight tensors by reference (they must stay alive); `destroy()` frees what the layer made.
 * @example
 * const mha = attn.multiHeadAttention({ embedDim: 512, numHeads: 8, numKvHeads: 2, weights: { inProj, outProj } });
 * const y = mha.forward(x, { causal: true }); // x [B, L, 512] → y [B, L, 512]
 */
export class MultiHeadAttention {
  /** The checked config, defaults applied. */
  readonly config: ResolvedMhaConfig<GpuTensor>;
  private readonly checks: TensorChecks<Tensor>;
  private rotaryCache: RotaryCache | null = null;
  private destroyed = false;

  constructor(
    private readonly runtime: GpuRuntime,
    config: MhaConfig,
  ) {
    runtime.assertAlive();
    this.checks = gpuChecks(runtime);
    const c = validateMhaConfig(config, this.checks);
    if (c.rotary && c.headDim % 2 !== 0) {
      throw new AttentionError(
        'config.headDim',
        `${c.headDim} (odd) with rotary`,
        "an even headDim when rotary is on (the GPU layer rotates pairs of columns held in one invocation's registers)",
      );
    }
    this.config = c as ResolvedMhaConfig<GpuTensor>;
  }

  /** forward returning the attention weights too. */
  forward(x: GpuTensor, options: MhaForwardOptions & { needWeights: true }): MhaOutputs;
  /** forward returning the output [B, L, embedDim]. */
  forward(x: GpuTensor, options?: MhaForwardOptions & { needWeights?: false }): GpuTensor;
  /** forward whose return shape is only known at run time. */
  forward(x: GpuTensor, options?: MhaForwardOptions): GpuTensor | MhaOutputs;
  /**
   * Runs the layer: self-attention on x [B, L, embedDim], or cross-attention with options.key and
   * options.value. Throws an {@link AttentionError} naming the bad argument before enqueuing anything.
   * @example
   * const y = mha.forward(x, { keyPaddingMask });                       // keyPaddingMask: GpuMask [B, L], 1 = padding
   * const { output, weights } = mha.forward(x, { needWeights: true }); // weights [B, L, L]
   */
  forward(x: GpuTensor, options?: MhaForwardOptions): GpuTensor | MhaOutputs {
    this.assertUsable();
    const call = validateMhaForward(
      this.config as ResolvedMhaConfig<Tensor>,
      x,
      options,
      this.checks,
    ) as ValidatedMhaForward<GpuTensor>;
    return this.encode(call, this.planDevice(call));
  }

  /** Frees what the layer made (its rotary table); the weight tensors stay the caller's. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.rotaryCache?.tensor.destroy();
    this.rotaryCache = null;
  }

  private assertUsable(): void {
    this.runtime.assertAlive();
    if (this.destroyed)
      throw new AttentionError(
        'layer',
        'a destroyed multiHeadAttention layer',
        'a live layer (do not call forward after destroy())',
      );
    for (const [name, t] of namedWeights(this.config)) t?.assertUsable(`weights.${name}`, this.runtime);
  }

  private planDevice(call: ValidatedMhaForward<GpuTensor>): DevicePlan {
    const { device } = this.runtime;
    const c = this.config;
    const layout = planMha(c, call);
    for (const [buffer, elements] of Object.entries(layout.bufferElements)) {
      checkFits(device, buffer === 'kv' ? 'options.key' : 'x', elements, elements * 4);
    }
    checkFits(device, 'x', layout.attentionElements, layout.attentionElements * 4);
    if (c.rotary)
      checkFits(
        device,
        'config.rotary',
        layout.rotaryPositions * c.rotary.dim,
        layout.rotaryPositions * c.rotary.dim * 4,
      );
    const argument = (s: ProjectionStep<GpuTensor>) => (s.input === 'query' ? 'x' : `options.${s.input}`);
    const projections = layout.steps.map((s) => planMatmul(s, device.limits, argument(s)));
    const outProjection = planMatmul(
      { M: call.B * call.L, N: c.embedDim, K: c.numHeads * c.headDim },
      device.limits,
      'x',
    );
    const attention = call.needWeights
      ? { naive: planNaive(this.runtime, call.sdpaDims, 'options.needWeights') }
      : { flash: planFlash(this.runtime, call.sdpaDims, undefined, 'x') };
    return { layout, projections, outProjection, attention };
  }

  private encode(call: ValidatedMhaForward<GpuTensor>, plan: DevicePlan): GpuTensor | MhaOutputs {
    const { runtime } = this;
    const rotary = this.rotaryFor(plan.layout.rotaryPositions);
    const scratch: GPUBuffer[] = [];
    const take = (elements: number, label: string, keep = false): GPUBufferBinding => {
      const buffer = runtime.pool.acquire(elements * 4, label);
      if (!keep) scratch.push(buffer);
      return { buffer, size: elements * 4 };
    };
    const buffers: Partial<Record<MhaBuffer, GPUBufferBinding>> = {};
    for (const [name, elements] of Object.entries(plan.layout.bufferElements))
      buffers[name as MhaBuffer] = take(elements, `multiHeadAttention ${name}`);
    const attention = take(plan.layout.attentionElements, 'multiHeadAttention heads');
    const output = take(
      call.B * call.L * this.config.embedDim,
      `multiHeadAttention output [${call.outputShape.join(', ')}]`,
      true,
    );
    const inputs = { query: call.query, key: call.key, value: call.value };
    const projections = plan.layout.steps.map((s, i) =>
      this.projection(s, plan.projections[i], inputs[s.input], buffers, rotary),
    );
    const ops = this.operands(call, plan.layout, buffers, attention);
    const weights = call.weightsShape ? this.weightBuffers(call, take) : null;
    const middle = this.attention(ops, plan.attention, weights);
    const dispatches = [
      ...projections,
      ...middle.dispatches,
      this.outProjection(call, plan.outProjection, attention, output),
    ];
    const ready = runtime.run('multiHeadAttention', dispatches);
    middle.release();
    scratch.forEach((b) => runtime.release(b));
    const tensor = (b: GPUBufferBinding, shape: number[]) =>
      Object.assign(new GpuTensor(runtime, b.buffer, shape, 0, true), { ready });
    const y = tensor(output, call.outputShape);
    if (!weights) return y;
    return { output: y, weights: tensor(weights.averaged ?? weights.perHead, call.weightsShape!) };
  }

  /** The flash kernel, or the naive passes writing the weights (and their mean over heads). */
  private attention(
    ops: AttentionOperands,
    plan: DevicePlan['attention'],
    weights: { perHead: GPUBufferBinding; averaged?: GPUBufferBinding } | null,
  ) {
    if ('flash' in plan) {
      const { dispatch, release } = encodeFlash(this.runtime, ops, plan.flash, null);
      return { dispatches: [dispatch], release };
    }
    return encodeNaive(this.runtime, ops, plan.naive, weights!.perHead, null, weights!.averaged);
  }

  /** Per-head weights (scratch when averaged) and the averaged ones; the returned one is kept. */
  private weightBuffers(
    call: ValidatedMhaForward<GpuTensor>,
    take: (elements: number, label: string, keep?: boolean) => GPUBufferBinding,
  ) {
    const perHead = take(
      call.B * this.config.numHeads * call.L * call.Lk,
      'multiHeadAttention weights [B, H, L, Lk]',
      !call.averageHeads,
    );
    const averaged = call.averageHeads
      ? take(call.B * call.L * call.Lk, 'multiHeadAttention weights [B, L, Lk]', true)
      : undefined;
    return { perHead, averaged };
  }

  /** Grows the layer's rotary table to `positions` (powers of two, so growing sequences rarely rebuild it). */
  private rotaryFor(positions: number): RotaryCache | null {
    const r = this.config.rotary;
    if (!r || positions === 0) return null;
    if (!this.rotaryCache || this.rotaryCache.positions < positions) {
      // Releasing after earlier submits is safe: queue order runs them before any later write.
      this.rotaryCache?.tensor.destroy();
      const size = Math.max(16, 2 ** Math.ceil(Math.log2(positions)));
      const fits =
        size * r.dim * 4 <=
        Math.min(this.runtime.device.limits.maxStorageBufferBindingSize, this.runtime.device.limits.maxBufferSize);
      const grown = fits ? size : positions;
      this.rotaryCache = { tensor: rotaryTable(this.runtime, grown, r.dim, r.base), positions: grown };
    }
    return this.rotaryCache;
  }

  private projection(
    s: ProjectionStep<GpuTensor>,
    plan: MatmulPlan,
    x: GpuTensor,
    buffers: Partial<Record<MhaBuffer, GPUBufferBinding>>,
    table: RotaryCache | null,
  ): KernelDispatch {
    const hd = this.config.headDim;
    const out = sliceLayout(s.out, hd);
    const shift = (o: MatmulOperand, by: number): MatmulOperand => ({ ...o, elementOffset: o.elementOffset + by });
    const r = this.config.rotary;
    const rotary: MatmulRotary | undefined =
      r && table && s.rotaryColumns > 0
        ? {
            table: operandOf(table.tensor),
            positions: table.positions,
            rotDim: r.dim,
            colBegin: 0,
            colEnd: s.rotaryColumns,
            positionOffset: r.positionOffset,
            halfSplit: !r.interleaved,
          }
        : undefined;
    return encodeMatmul(
      this.runtime,
      {
        x: operandOf(x),
        xStrideM: s.K,
        M: s.M,
        K: s.K,
        weight: shift(operandOf(s.weight), s.row * s.K),
        N: s.N,
        bias: s.bias && shift(operandOf(s.bias), s.row),
        out: {
          buffer: buffers[s.out.buffer]!,
          elementOffset: out.elementOffset,
          rowsPerBatch: s.out.length,
          headDim: hd,
          strideB: out.strides[0],
          strideL: out.strides[2],
          strideH: hd,
        },
        rotary,
      },
      plan,
    );
  }

  private operands(
    call: ValidatedMhaForward<GpuTensor>,
    layout: MhaPlan<GpuTensor>,
    buffers: Partial<Record<MhaBuffer, GPUBufferBinding>>,
    attention: GPUBufferBinding,
  ): AttentionOperands {
    const { headDim: hd, numHeads: Hq } = this.config;
    const view = (slice: HeadSlice) => ({ resource: buffers[slice.buffer]!, ...sliceLayout(slice, hd) });
    return {
      dims: call.sdpaDims,
      options: call.attention,
      q: view(layout.q),
      k: view(layout.k),
      v: view(layout.v),
      out: { resource: attention, elementOffset: 0, strides: [call.L * Hq * hd, hd, Hq * hd] },
      mask: call.mask && { mask: call.mask.tensor, strides: call.mask.strides },
      keyPadding: call.keyPaddingMask as unknown as GpuMask | null, // checked boolean by validateMhaForward
    };
  }

  /** y [B·L, E] = heads [B·L, Hq·headDim] · oᵀ + oBias, reading attention's output where it lies. */
  private outProjection(
    call: ValidatedMhaForward<GpuTensor>,
    plan: MatmulPlan,
    attention: GPUBufferBinding,
    output: GPUBufferBinding,
  ): KernelDispatch {
    const c = this.config;
    const [M, K, N] = [call.B * call.L, c.numHeads * c.headDim, c.embedDim];
    return encodeMatmul(
      this.runtime,
      {
        x: { buffer: attention, elementOffset: 0 },
        xStrideM: K,
        M,
        K,
        weight: operandOf(c.o.weight),
        N,
        bias: c.o.bias && operandOf(c.o.bias),
        out: { buffer: output, elementOffset: 0, rowsPerBatch: M, headDim: N, strideB: M * N, strideL: N, strideH: 0 },
      },
      plan,
    );
  }
}

/**
 * Makes a multi-head-attention layer (checks the config and weights).
 * @example
 * const mha = multiHeadAttention(runtime, { embedDim: 8, numHeads: 2, weights: { q, k, v, o } });
 */
export function multiHeadAttention(runtime: GpuRuntime, config: MhaConfig): MultiHeadAttention {
  return new MultiHeadAttention(runtime, config);
}
