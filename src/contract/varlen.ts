/**
 * The variable-length (packed) attention contract, FlashAttention's `flash_attn_varlen_func`: q
 * [totalQ, Hq, D], k [totalK, Hkv, D] and v [totalK, Hkv, Dv] hold B sequences back to back, and
 * the cumulative offsets `cuSeqlensQ`, `cuSeqlensK` (B + 1 each) say where each one starts.
 * Sequence b is sdpa on its own rows alone (docs/semantics.md §12). `attn.sdpaVarlen` and
 * `reference.sdpaVarlen` both validate here, so they reject the same calls with the same messages.
 */
import { AttentionError, describe } from '../errors';
import { checkObject, isPositiveInt } from './checks';
import { validateSdpaOptions, type ResolvedSdpaOptions, type SdpaDims } from './sdpa';
import type { Alignment, SdpaOptionsOf, SlidingWindow } from './types';

/** Cumulative sequence offsets, host-side: they decide the work, so the host must know them. */
export type CuSeqlens = readonly number[] | Int32Array | Uint32Array;

/** Options of `attn.sdpaVarlen` and `reference.sdpaVarlen`; each sdpa option applies per sequence. */
export interface VarlenOptions {
  /** [0, …, totalQ]: sequence b's queries are rows cuSeqlensQ[b] … cuSeqlensQ[b + 1] − 1. */
  cuSeqlensQ: CuSeqlens;
  /** [0, …, totalK], as many offsets as cuSeqlensQ: sequence b's keys and values. */
  cuSeqlensK: CuSeqlens;
  /** Multiplies q·k. Default 1/√D. */
  scale?: number;
  /** c > 0: scores become c·tanh(s/c). 0 or absent: off. */
  softcap?: number;
  /** Per sequence: query i (at position p = i + offset) sees keys j ≤ p. */
  causal?: boolean;
  /** Per sequence: offset 0 (`'upper-left'`, the default) or Lk_b − Lq_b (`'lower-right'`, FlashAttention's). */
  alignment?: Alignment;
  /** Per sequence, measured from p as in sdpa. */
  window?: SlidingWindow;
  /** Per sequence, as in sdpa. */
  dilation?: number;
  /** Also return the log-sum-exp, [Hq, totalQ] (FlashAttention's varlen layout). */
  returnLse?: boolean;
  /** Per sequence: its first n keys stay visible whatever the window, as in sdpa. */
  sinkTokens?: number;
  /** ALiBi slopes, one per query head, as in sdpa (positions per sequence). */
  alibiSlopes?: readonly number[] | Float32Array | Float64Array;
  /** Learned sink logits, one per query head, as in sdpa. */
  sinks?: readonly number[] | Float32Array | Float64Array;
}

/** Sizes of a packed call. */
export interface VarlenDims {
  totalQ: number;
  totalK: number;
  Hq: number;
  Hkv: number;
  D: number;
  Dv: number;
}

/** One sequence that has queries: where its rows start, its sdpa sizes (B = 1) and options. */
export interface VarlenSequence {
  /** Its index b in the batch. */
  index: number;
  /** Its first query row and first key row in the packed tensors. */
  qStart: number;
  kStart: number;
  /** B = 1, Lq = its queries (≥ 1), Lk = its keys (may be 0). */
  dims: SdpaDims;
  /** The options resolved for its own lengths (alignment offset, window reaches). */
  options: ResolvedSdpaOptions;
}

/** A checked call: the sizes, the batch size B, and the sequences with queries, in order. */
export interface ValidatedVarlen {
  dims: VarlenDims;
  batch: number;
  sequences: VarlenSequence[];
  returnLse: boolean;
}

/** sdpa options that have no meaning here, and why. */
const REFUSED: Record<string, string> = {
  mask: 'no mask: sdpaVarlen takes none (nor does FlashAttention varlen); cuSeqlensQ/K separate the sequences, causal and window shape each one',
  globalTokens:
    'no global tokens: positions differ from sequence to sequence; run attn.sdpa per sequence for Longformer attention',
  layout: 'no layout: packed tensors are [tokens, heads, dim]',
  returnWeights: 'no weights: sdpaVarlen returns the output and the log-sum-exp only',
};

const OPTION_KEYS = [
  'cuSeqlensQ',
  'cuSeqlensK',
  'scale',
  'softcap',
  'causal',
  'alignment',
  'window',
  'dilation',
  'returnLse',
  'sinkTokens',
  'alibiSlopes',
  'sinks',
];

function checkShape(argument: string, shape: unknown, words: string): number[] {
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every(isPositiveInt)) {
    throw new AttentionError(argument, `shape ${describe(shape)}`, `3 positive integers ${words} (packed tokens)`);
  }
  return shape as number[];
}

/**
 * Checks the packed shapes against each other and returns the sizes.
 * @example
 * validateVarlenShapes([7, 4, 8], [9, 2, 8], [9, 2, 16]); // { totalQ: 7, totalK: 9, Hq: 4, Hkv: 2, D: 8, Dv: 16 }
 */
export function validateVarlenShapes(qShape: unknown, kShape: unknown, vShape: unknown): VarlenDims {
  const q = checkShape('q', qShape, '[totalQ, Hq, D]');
  const k = checkShape('k', kShape, '[totalK, Hkv, D]');
  const v = checkShape('v', vShape, '[totalK, Hkv, Dv]');
  const dims: VarlenDims = { totalQ: q[0], totalK: k[0], Hq: q[1], Hkv: k[1], D: q[2], Dv: v[2] };
  if (k[2] !== dims.D) throw new AttentionError('k', `head dim ${k[2]} (shape ${describe(k)})`, `${dims.D}, as q`);
  if (v[0] !== dims.totalK) throw new AttentionError('v', `${v[0]} tokens (shape ${describe(v)})`, `${k[0]}, as k`);
  if (v[1] !== dims.Hkv) throw new AttentionError('v', `${v[1]} heads (shape ${describe(v)})`, `${k[1]}, as k`);
  if (dims.Hq % dims.Hkv !== 0) {
    throw new AttentionError(
      'k',
      `${dims.Hkv} kv heads for ${dims.Hq} query heads`,
      `a divisor of ${dims.Hq} (grouped-query attention)`,
    );
  }
  return dims;
}

/**
 * Checks cumulative sequence offsets: a number[], Int32Array or Uint32Array of `count` integers
 * (B + 1 ≥ 2; any count when undefined), starting at 0, never decreasing (a sequence may be
 * empty) and ending at `total`, the token count of `tensor`.
 * @example
 * checkCuSeqlens('options.cuSeqlensQ', [0, 3, 3, 8], 8, 'q'); // [0, 3, 3, 8]
 */
export function checkCuSeqlens(
  argument: string,
  value: unknown,
  total: number,
  tensor: string,
  count?: number,
): number[] {
  const typed = value instanceof Int32Array || value instanceof Uint32Array;
  if (!typed && !Array.isArray(value)) {
    const words = 'cumulative offsets [0, …, total]: a number[], Int32Array or Uint32Array of B + 1 integers';
    throw new AttentionError(argument, describe(value), words);
  }
  const offsets = Array.from(value as ArrayLike<unknown>);
  if (count !== undefined && offsets.length !== count) {
    throw new AttentionError(argument, `length ${offsets.length}`, `length ${count}, as options.cuSeqlensQ (B + 1)`);
  }
  if (offsets.length < 2) throw new AttentionError(argument, `length ${offsets.length}`, 'B + 1 ≥ 2 offsets');
  offsets.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isInteger(x)) {
      throw new AttentionError(argument, `${describe(x)} at index ${i}`, 'integer offsets');
    }
    if (i === 0 && x !== 0) throw new AttentionError(argument, `first offset ${x}`, '0');
    if (i > 0 && x < (offsets[i - 1] as number)) {
      throw new AttentionError(
        argument,
        `${x} after ${offsets[i - 1]} at index ${i}`,
        'non-decreasing offsets (a sequence may be empty, never negative)',
      );
    }
  });
  const last = offsets[offsets.length - 1];
  if (last !== total) {
    throw new AttentionError(argument, `last offset ${last}`, `${total}, the token count of ${tensor} (shape[0])`);
  }
  return offsets as number[];
}

/** The sdpa options of one sequence (the packed call's options less the varlen ones), for validateSdpaOptions. */
export function sdpaOptionsOf(o: VarlenOptions): SdpaOptionsOf<never> {
  const { scale, softcap, causal, alignment, window, dilation, returnLse, sinkTokens, alibiSlopes, sinks } = o;
  return { scale, softcap, causal, alignment, window, dilation, returnLse, sinkTokens, alibiSlopes, sinks };
}

/**
 * Checks the packed shapes and every option, and splits the batch into its sequences. Options are
 * checked once against the packed sizes, so a bad value is refused whatever the offsets, then
 * resolved per sequence (alignment offsets and window reaches depend on its own lengths).
 * @example
 * const call = validateVarlenCall([8, 2, 4], [8, 2, 4], [8, 2, 4], { cuSeqlensQ: [0, 3, 8], cuSeqlensK: [0, 3, 8] });
 * call.sequences[1].dims.Lq; // 5
 */
export function validateVarlenCall(
  qShape: unknown,
  kShape: unknown,
  vShape: unknown,
  options: unknown,
): ValidatedVarlen {
  const dims = validateVarlenShapes(qShape, kShape, vShape);
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new AttentionError('options', describe(options), 'an object with cuSeqlensQ and cuSeqlensK');
  }
  const o = options as VarlenOptions & Record<string, unknown>;
  for (const [key, why] of Object.entries(REFUSED)) {
    if (o[key] !== undefined) throw new AttentionError(`options.${key}`, describe(o[key]), why);
  }
  checkObject('options', o, OPTION_KEYS, false);
  const cuQ = checkCuSeqlens('options.cuSeqlensQ', o.cuSeqlensQ, dims.totalQ, 'q');
  const cuK = checkCuSeqlens('options.cuSeqlensK', o.cuSeqlensK, dims.totalK, 'k', cuQ.length);
  const { totalQ, totalK, ...heads } = dims;
  const sdpaOptions = sdpaOptionsOf(o);
  const packed = validateSdpaOptions(sdpaOptions, { B: 1, Lq: totalQ, Lk: totalK, ...heads });
  const sequences: VarlenSequence[] = [];
  for (let b = 0; b + 1 < cuQ.length; b++) {
    const seqDims = { B: 1, Lq: cuQ[b + 1] - cuQ[b], Lk: cuK[b + 1] - cuK[b], ...heads };
    if (seqDims.Lq === 0) continue; // no query, nothing to compute or write
    const resolved = validateSdpaOptions(sdpaOptions, seqDims); // cannot throw: checked above
    sequences.push({ index: b, qStart: cuQ[b], kStart: cuK[b], dims: seqDims, options: resolved });
  }
  return { dims, batch: cuQ.length - 1, sequences, returnLse: packed.returnLse };
}
