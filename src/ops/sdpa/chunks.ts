/**
 * Attention on tensors larger than one buffer binding (maxStorageBufferBindingSize, 128 MiB by
 * default and less on some phones): the work is split over whole batches, or over ranges of kv heads
 * within one batch, so that every chunk binds only the part of each tensor it reads or writes, at an
 * offset that respects minStorageBufferOffsetAlignment. Pure: sizes, strides and limits in, chunks out.
 */
import { AttentionError } from '../../errors';

/** A tensor's shape for chunking: element strides over batch and head, and the span of one (b, h) slice. */
export interface TensorSpan {
  strides: [number, number];
  /** Its heads per kv head: 1 for K and V, the group size for Q and the output, 0 where it broadcasts over heads. */
  perKvHead: number;
  /** Elements from a (b, h) slice's first to past its last: (L − 1)·stride_s + D for q, k, v and the output. */
  slice: number;
  bytesPerElement: number;
}

/** One chunk: batches [b0, b0 + batches) and, within them, kv heads [g0, g0 + kvHeads). */
export interface AttentionChunk {
  b0: number;
  batches: number;
  g0: number;
  kvHeads: number;
}

/** The element of the tensor where `chunk`'s part starts (from the tensor's element 0). */
export function chunkStart(span: TensorSpan, chunk: AttentionChunk): number {
  return chunk.b0 * span.strides[0] + chunk.g0 * span.perKvHead * span.strides[1];
}

/** Elements from the chunk's start to past its last element (strides are non-negative). */
export function chunkElements(span: TensorSpan, chunk: AttentionChunk): number {
  const heads = span.perKvHead === 0 ? 1 : chunk.kvHeads * span.perKvHead;
  const [sb, sh] = span.strides;
  return (chunk.batches - 1) * sb + (heads - 1) * sh + span.slice;
}

/**
 * Whether every span's part fits one binding of `bindable` bytes, with up to `alignment` − 1 bytes of
 * slack before it (a binding starts at a multiple of the alignment) and the rounding to 4 bytes after.
 */
export function chunkFits(spans: TensorSpan[], chunk: AttentionChunk, bindable: number, alignment: number): boolean {
  return spans.every((s) => chunkElements(s, chunk) * s.bytesPerElement + alignment + 3 <= bindable);
}

/**
 * Splits (B, Hkv) into chunks whose parts all fit: the whole call when it fits, else runs of whole
 * batches, else ranges of kv heads of one batch. Throws an AttentionError on `argument` when one kv
 * head of one batch does not fit (its keys alone pass the binding limit, or the layout spreads a
 * head over the whole tensor, as 'bshd' does).
 * @example
 * planChunks(1, 8, (c) => chunkFits([kSpan, vSpan], c, 2 ** 27, 256)); // 8 one-head chunks for 147 MB K and V
 */
export function planChunks(
  B: number,
  Hkv: number,
  fits: (chunk: AttentionChunk) => boolean,
  argument = 'k',
): AttentionChunk[] {
  const whole = (batches: number): AttentionChunk => ({ b0: 0, batches, g0: 0, kvHeads: Hkv });
  if (fits(whole(B))) return [whole(B)];
  let batches = B;
  while (batches > 1 && !fits(whole(batches))) batches = Math.ceil(batches / 2);
  const chunks: AttentionChunk[] = [];
  if (fits(whole(batches))) {
    for (let b0 = 0; b0 < B; b0 += batches)
      chunks.push({ b0, batches: Math.min(batches, B - b0), g0: 0, kvHeads: Hkv });
    return chunks;
  }
  let heads = Hkv;
  while (heads > 1 && !fits({ b0: 0, batches: 1, g0: 0, kvHeads: heads })) heads = Math.ceil(heads / 2);
  if (!fits({ b0: 0, batches: 1, g0: 0, kvHeads: heads })) {
    throw new AttentionError(
      argument,
      'a tensor whose single head (of one batch) passes the buffer binding limit',
      "heads that fit one binding each: layout 'bhsd' keeps a head together ('bshd' spreads it over the whole tensor)",
    );
  }
  for (let b0 = 0; b0 < B; b0++) {
    for (let g0 = 0; g0 < Hkv; g0 += heads) chunks.push({ b0, batches: 1, g0, kvHeads: Math.min(heads, Hkv - g0) });
  }
  return chunks;
}
