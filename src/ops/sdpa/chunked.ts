/**
 * The operands of each chunk of an sdpa call whose tensors pass one buffer binding (chunks.ts plans
 * the split): every view is narrowed to the part its chunk reads or writes, bound from an offset
 * rounded down to minStorageBufferOffsetAlignment, with the rest of the offset in elements.
 */
import type { ResolvedModifiers } from '../../contract/modifiers';
import type { SdpaDims } from '../../contract/sdpa';
import { bindableBytes, type DeviceLimits } from '../../gpu/limits';
import { chunkElements, chunkFits, chunkStart, planChunks, type AttentionChunk, type TensorSpan } from './chunks';
import type { AttentionOperands, AttentionView, LseView } from './operands';

/** One chunk's call: its sizes, its operands, and where its lse goes. */
export interface ChunkCall {
  dims: SdpaDims;
  ops: AttentionOperands;
  lse: LseView | null;
}

/** A binding of `elements` elements from element `start` of a view (whose element 0 is at its elementOffset). */
function narrow(
  resource: GPUBufferBinding,
  elementOffset: number,
  start: number,
  elements: number,
  bytesPerElement: number,
  alignment: number,
) {
  const byteStart = (resource.offset ?? 0) + (elementOffset + start) * bytesPerElement;
  const offset = Math.floor(byteStart / alignment) * alignment;
  const size = Math.ceil((byteStart - offset + elements * bytesPerElement) / 4) * 4;
  return { resource: { buffer: resource.buffer, offset, size }, elementOffset: (byteStart - offset) / bytesPerElement };
}

function headSlice(values: Float64Array | null, first: number, count: number): Float64Array | null {
  return values && values.subarray(first, first + count);
}

/** The spans of q, k, v, the output, the mask and the lse, for planning and narrowing. */
function spansOf(ops: AttentionOperands) {
  const { Hq, Hkv, Lq, Lk, D, Dv } = ops.dims;
  const group = Hq / Hkv;
  const view = (v: AttentionView, perKvHead: number, length: number, dim: number): TensorSpan => ({
    strides: [v.strides[0], v.strides[1]],
    perKvHead,
    slice: (length - 1) * v.strides[2] + dim,
    bytesPerElement: v.f16 ? 2 : 4,
  });
  const spans = {
    q: view(ops.q, group, Lq, D),
    k: view(ops.k, 1, Lk, D),
    v: view(ops.v, 1, Lk, Dv),
    out: view(ops.out, group, Lq, Dv),
    lse: { strides: [Hq * Lq, Lq], perKvHead: group, slice: Lq, bytesPerElement: 4 } as TensorSpan,
    mask: null as TensorSpan | null,
  };
  const m = ops.mask;
  if (m) {
    const { b, h, i, j } = m.strides;
    spans.mask = {
      strides: [b, h],
      perKvHead: h === 0 ? 0 : group,
      slice: (Lq - 1) * i + (Lk - 1) * j + 1,
      bytesPerElement: m.mask.bytesPerElement,
    };
  }
  return spans;
}

/**
 * The chunks an sdpa call runs in: one when every tensor fits one binding, else runs of whole batches
 * or ranges of kv heads (chunks.ts). Plans on strides only, so it runs before any buffer is taken;
 * throws an AttentionError when even one kv head of one batch does not fit.
 * @example
 * const chunks = planCallChunks(operandsOf(call, placeholder), call.options.returnLse, device.limits);
 */
export function planCallChunks(ops: AttentionOperands, withLse: boolean, limits: ChunkLimits): AttentionChunk[] {
  if (ops.keyPadding) throw new Error('planCallChunks: key padding is not split (the layer binds whole tensors)');
  const spans = spansOf(ops);
  const listed = [
    spans.q,
    spans.k,
    spans.v,
    spans.out,
    ...(withLse ? [spans.lse] : []),
    ...(spans.mask ? [spans.mask] : []),
  ];
  const [bindable, alignment] = [bindableBytes(limits), limits.minStorageBufferOffsetAlignment];
  return planChunks(ops.dims.B, ops.dims.Hkv, (c) => chunkFits(listed, c, bindable, alignment));
}

/** The limits chunking reads (a GPUSupportedLimits satisfies it). */
export type ChunkLimits = DeviceLimits & { minStorageBufferOffsetAlignment: number };

/**
 * Each chunk's call: its sizes, its operands narrowed to what it reads and writes, its lse view.
 * @example
 * const dispatches = chunkCalls(ops, lse, chunks, alignment).flatMap((c) => encodeFlash(runtime, c.ops, planSdpa(c.dims, limits), c.lse));
 */
export function chunkCalls(
  ops: AttentionOperands,
  lse: GPUBufferBinding | null,
  chunks: AttentionChunk[],
  alignment: number,
): ChunkCall[] {
  const spans = spansOf(ops);
  return chunks.map((c) => chunkCall(ops, spans, c, lse, alignment));
}

/** The sizes of one chunk's call. */
export function chunkDims(dims: SdpaDims, c: AttentionChunk): SdpaDims {
  const group = dims.Hq / dims.Hkv;
  return { ...dims, B: c.batches, Hq: c.kvHeads * group, Hkv: c.kvHeads };
}

function chunkCall(
  ops: AttentionOperands,
  spans: ReturnType<typeof spansOf>,
  c: AttentionChunk,
  lse: GPUBufferBinding | null,
  alignment: number,
): ChunkCall {
  const group = ops.dims.Hq / ops.dims.Hkv;
  const dims = chunkDims(ops.dims, c);
  const part = (v: AttentionView, span: TensorSpan): AttentionView => ({
    ...narrow(
      v.resource,
      v.elementOffset,
      chunkStart(span, c),
      chunkElements(span, c),
      span.bytesPerElement,
      alignment,
    ),
    strides: v.strides,
    f16: v.f16,
  });
  const firstHead = c.g0 * group;
  const m: ResolvedModifiers = ops.options.modifiers;
  const modifiers = {
    alibiSlopes: headSlice(m.alibiSlopes, firstHead, dims.Hq),
    sinks: headSlice(m.sinks, firstHead, dims.Hq),
  };
  const mask = ops.mask &&
    spans.mask && {
      ...ops.mask,
      binding: (() => {
        const whole = ops.mask.mask.binding();
        return narrow(
          whole.resource,
          whole.elementOffset,
          chunkStart(spans.mask, c),
          chunkElements(spans.mask, c),
          spans.mask.bytesPerElement,
          alignment,
        );
      })(),
    };
  const chunkOps: AttentionOperands = {
    ...ops,
    dims,
    options: { ...ops.options, modifiers },
    mask,
    q: part(ops.q, spans.q),
    k: part(ops.k, spans.k),
    v: part(ops.v, spans.v),
    out: part(ops.out, spans.out),
  };
  const lseView = lse && narrow(lse, 0, chunkStart(spans.lse, c), chunkElements(spans.lse, c), 4, alignment);
  return { dims, ops: chunkOps, lse: lseView };
}
