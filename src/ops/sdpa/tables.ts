/**
 * The small per-call tables both attention kernels read from one buffer (`tables`, u32 words):
 * global-token bits, ALiBi slopes, sink logits, block-mask bits, and for the flash kernel alone the
 * block mask's tile bits and a paged call's page table; with the uniforms that say where each starts.
 */
import type { ResolvedModifiers } from '../../contract/modifiers';
import type { ResolvedBlockMask } from '../../contract/variants';
import { hasWindow, type ResolvedWindow } from '../../contract/window';
import type { GpuRuntime } from '../../gpu/runtime';
import type { TileBits } from './block-tiles';

/**
 * The small per-call tables the kernels read from one buffer (`tables`, u32 words): the global-token
 * bitset over the key positions from word 0, then the ALiBi slopes (f32 bits) from `alibi_at`, then
 * the sink logits from `sinks_at`, then a paged call's page table from `pageTableAt`; with the
 * window's uniforms and the overrides that switch them on. (`pageTableAt` is not in `uniforms`:
 * only the flash kernel reads pages.)
 */
export interface TableArguments {
  resource: GPUBufferBinding;
  uniforms: Record<string, number>;
  overrides: { HAS_WINDOW: boolean; HAS_GLOBAL: boolean; HAS_ALIBI: boolean; HAS_SINKS: boolean };
  /** Flash-only uniforms: where a paged call's page table and a block mask's tile bits start. */
  flashUniforms: { page_table_at: number; tile_bits_at: number; tile_words: number };
}

/** A paged call's keys and values: token j of the sequence is row j % pageSize of page table[j / pageSize]. */
export interface PageTable {
  table: readonly number[];
  pageSize: number;
}

/** The window's uniforms and the tables (global tokens, ALiBi slopes, sinks): scratch of the submission. */
export function tableArguments(
  runtime: GpuRuntime,
  window: ResolvedWindow,
  modifiers: ResolvedModifiers,
  kvLen: number,
  pages: PageTable | null = null,
  blocks: BlockTables | null = null,
): TableArguments {
  const on = hasWindow(window);
  const globals = on && window.globalTokens.length > 0;
  const bitWords = globals ? Math.ceil(kvLen / 32) : 0;
  const { alibiSlopes, sinks } = modifiers;
  const slopesAt = bitWords;
  const sinksAt = slopesAt + (alibiSlopes?.length ?? 0);
  const blockBitsAt = sinksAt + (sinks?.length ?? 0);
  const tileBitsAt = blockBitsAt + (blocks?.maskBits.length ?? 0);
  const pageTableAt = tileBitsAt + (blocks?.tileBits?.words.length ?? 0);
  const words = new Uint32Array(pageTableAt + (pages?.table.length ?? 0));
  if (globals) for (const g of window.globalTokens) words[g >>> 5] |= 1 << (g & 31);
  if (blocks) words.set(blocks.maskBits, blockBitsAt);
  if (blocks?.tileBits) words.set(blocks.tileBits.words, tileBitsAt);
  if (pages) words.set(pages.table, pageTableAt);
  const floats = new Float32Array(words.buffer);
  if (alibiSlopes) floats.set(alibiSlopes, slopesAt);
  if (sinks) floats.set(sinks, sinksAt);
  const uniforms = {
    window_left: window.left,
    window_right: window.right,
    dilation: window.dilation,
    sink_tokens: on ? window.sinkTokens : 0,
    alibi_at: slopesAt,
    sinks_at: sinksAt,
    ...blockUniforms(blocks?.mask ?? null, blockBitsAt),
  };
  const overrides = { HAS_WINDOW: on, HAS_GLOBAL: globals, HAS_ALIBI: alibiSlopes !== null, HAS_SINKS: sinks !== null };
  const resource =
    words.length === 0 ? { buffer: runtime.dummy } : runtime.scope.scratch(words.byteLength, 'attention tables', words);
  const flashUniforms = {
    page_table_at: pageTableAt,
    tile_bits_at: tileBitsAt,
    tile_words: blocks?.tileBits?.tileWords ?? 0,
  };
  return { resource, uniforms, overrides, flashUniforms };
}

/** A block mask's bits for the tables, and (flash) its plan's tile bits. */
export interface BlockTables {
  mask: ResolvedBlockMask;
  maskBits: Uint32Array;
  tileBits: TileBits | null;
}

/** The block-mask uniforms both kernels share (zeros without one). */
function blockUniforms(m: ResolvedBlockMask | null, at: number): Record<string, number> {
  return {
    bm_at: at,
    bm_stride_b: m?.strideB ?? 0,
    bm_stride_h: m?.strideH ?? 0,
    bm_k_blocks: m?.kBlocks ?? 0,
    bm_block_q: m?.bq ?? 1,
    bm_block_k: m?.bk ?? 1,
  };
}
