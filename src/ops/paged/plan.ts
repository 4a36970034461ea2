/**
 * Plans of the paged KV cache: the buffer copies that put appended tokens into their pages, and the
 * flash kernel's plan for each sequence of an attention call. Pure; unit-tested without a GPU.
 *
 * The pool is [numPages, Hkv, pageSize, dim], row-major: the tokens one page holds for one head are
 * contiguous, so an append of n tokens to a sequence is one copy per (head, page it touches).
 */
import type { PagedRow, SequenceAppend } from '../../contract/paged';
import type { DeviceLimits } from '../../gpu/limits';
import type { CopyRange } from '../kv-cache/plan';
import { planSdpa, type SdpaPlan } from '../sdpa/plan';

/** The pool's geometry and the appended tensor's. */
export interface PagedGeometry {
  kvHeads: number;
  pageSize: number;
  /** Elements per token row (D for keys, Dv for values). */
  dim: number;
  bytesPerElement: number;
}

/**
 * The copies that write n tokens of each sequence from a contiguous [B, Hkv, n, dim] tensor (at
 * `sourceByteOffset`) into the pool: batch row `append.row` goes to positions from … from + n − 1
 * of the sequence, each in page pages[position / pageSize], row position % pageSize.
 * @example
 * pageCopies([{ id: 0, row: 0, pages: [3], from: 0 }], 2, 0, { kvHeads: 1, pageSize: 4, dim: 2, bytesPerElement: 4 });
 * // [{ from: 0, to: 96, bytes: 16 }]: page 3 starts at element 3·1·4·2 = 24
 */
export function pageCopies(
  appends: readonly SequenceAppend[],
  n: number,
  sourceByteOffset: number,
  g: PagedGeometry,
): CopyRange[] {
  const rowBytes = g.dim * g.bytesPerElement;
  const ranges: CopyRange[] = [];
  for (const a of appends) {
    for (let h = 0; h < g.kvHeads; h++) {
      const source = sourceByteOffset + (a.row * g.kvHeads + h) * n * rowBytes;
      for (let t = 0; t < n;) {
        const position = a.from + t;
        const slot = position % g.pageSize;
        const run = Math.min(g.pageSize - slot, n - t);
        const page = a.pages[Math.floor(position / g.pageSize)];
        const target = ((page * g.kvHeads + h) * g.pageSize + slot) * rowBytes;
        ranges.push({ from: source + t * rowBytes, to: target, bytes: run * rowBytes });
        t += run;
      }
    }
  }
  return ranges;
}

/** One batch row's flash plan. */
export interface PagedStep {
  row: PagedRow;
  flash: SdpaPlan;
}

/**
 * The flash kernel's plan for every batch row (a split-K decode where the sequence is long). A row
 * whose sequence holds no token still runs the kernel, which writes zeros and an lse of −∞: it is
 * planned as one key, as sdpa never plans Lk = 0.
 * @example
 * planPaged(rows, device.limits)[0].flash.kvSplits; // > 1 for a long sequence and one query
 */
export function planPaged(rows: readonly PagedRow[], limits: DeviceLimits): PagedStep[] {
  return rows.map((row) => ({ row, flash: planSdpa({ ...row.dims, Lk: Math.max(1, row.dims.Lk) }, limits) }));
}
