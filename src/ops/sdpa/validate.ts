/**
 * Validation of an sdpa call on the GPU, shared by the flash and the naive op: the contract's checks
 * (shapes, options, mask broadcasting) plus what only the GPU path has (tensors of this context,
 * device buffer limits, a forced tiling). Nothing past this point throws an AttentionError.
 */
import { validateLayout, validateMaskShape, validateSdpaOptions, validateSdpaShapes } from '../../contract/sdpa';
import type { MaskStrides, ResolvedSdpaOptions, SdpaDims } from '../../contract/sdpa';
import { checkFlag } from '../../contract/checks';
import type { SdpaOptionsOf } from '../../contract/types';
import { AttentionError, describe } from '../../errors';
import { checkAllFit, checkAllocatable } from '../../gpu/limits';
import type { GpuRuntime } from '../../gpu/runtime';
import { checkTensor, F32_OR_F16, GpuMask, GpuTensor, type TensorBinding } from '../../tensor';
import { TILE_PREFERENCES, type SdpaTile } from './plan';

/** Options of `attn.sdpa`. */
export interface SdpaOptions extends SdpaOptionsOf<GpuTensor | GpuMask> {
  /** Advanced: force a tiling (one of TILE_PREFERENCES) instead of the plan's choice, for tuning. */
  tile?: SdpaTile;
}

/** Options of `attn.sdpaNaive`: those of `attn.sdpa`, plus `returnWeights`. */
export interface SdpaNaiveOptions extends Omit<SdpaOptions, 'tile'> {
  /** Also return the attention weights [B, Hq, Lq, Lk] (softmax probabilities; zero rows when fully masked). */
  returnWeights?: boolean;
}

/** A checked mask argument: the tensor and its broadcast strides. */
export interface CheckedMask {
  mask: GpuTensor | GpuMask;
  strides: MaskStrides;
  /** The part of the mask one chunk binds (sdpa on tensors past one binding); the whole mask when absent. */
  binding?: TensorBinding;
}

/** Everything encode needs, checked: nothing past this point can throw an AttentionError. */
export interface ValidatedSdpa {
  q: GpuTensor;
  k: GpuTensor;
  v: GpuTensor;
  dims: SdpaDims;
  options: ResolvedSdpaOptions;
  mask: CheckedMask | null;
  outputShape: number[];
}

/** Checks the mask option: a float GpuTensor (additive) or a GpuMask (boolean), that broadcasts. */
function checkMask(runtime: GpuRuntime, value: unknown, dims: SdpaDims): CheckedMask | null {
  if (value === undefined || value === null) return null;
  if (!(value instanceof GpuTensor) && !(value instanceof GpuMask)) {
    throw new AttentionError(
      'options.mask',
      describe(value),
      'a GpuTensor (additive float mask) or a GpuMask (boolean, from attn.mask())',
    );
  }
  value.assertUsable('options.mask', runtime);
  return { mask: value, strides: validateMaskShape(value.shape, dims) };
}

/**
 * Checks every argument of an attention call.
 * @example
 * const call = validateAttentionCall(runtime, q, k, v, { causal: true });
 * call.dims.Lq; // q's sequence length
 */
export function validateAttentionCall(
  runtime: GpuRuntime,
  q: unknown,
  k: unknown,
  v: unknown,
  options: SdpaOptionsOf<unknown> | undefined,
): ValidatedSdpa {
  runtime.assertAlive();
  // q, k and v may be views (a KV cache's keys and values): the kernels read them by their strides,
  // in f32 or f16 storage each (a float mask too).
  const qT = checkTensor(runtime, 'q', q, true, F32_OR_F16);
  const kT = checkTensor(runtime, 'k', k, true, F32_OR_F16);
  const vT = checkTensor(runtime, 'v', v, true, F32_OR_F16);
  const layout = validateLayout(options?.layout);
  const dims = validateSdpaShapes(qT.shape, kT.shape, vT.shape, layout);
  const resolved = validateSdpaOptions(options, dims);
  const mask = checkMask(runtime, options?.mask, dims);
  const outputShape = layout === 'bshd' ? [dims.B, dims.Lq, dims.Hq, dims.Dv] : [dims.B, dims.Hq, dims.Lq, dims.Dv];
  const outputElements = dims.B * dims.Hq * dims.Lq * dims.Dv;
  // The flash op splits work that does not fit one binding (chunks.ts); it only needs buffers that can exist.
  const limits = runtime.device.limits;
  for (const [name, t] of Object.entries({ q: qT, k: kT, v: vT }))
    checkAllocatable(limits, name, t.size, t.size * t.bytesPerElement);
  checkAllocatable(limits, 'output', outputElements, outputElements * 4);
  return { q: qT, k: kT, v: vT, dims, options: resolved, mask, outputShape };
}

/**
 * The `tile` option: undefined (the plan chooses), or one of TILE_PREFERENCES with, optionally,
 * `kvSplits` (an integer ≥ 1: key splits of split-K; the plan caps it at the number of key tiles).
 */
export function checkTile(tile: unknown): SdpaTile | undefined {
  if (tile === undefined) return undefined;
  const asked = tile as Partial<SdpaTile> | null;
  const known = TILE_PREFERENCES.find((t) => t.blockQ === asked?.blockQ && t.tileKv === asked?.tileKv);
  if (!known) {
    throw new AttentionError(
      'options.tile',
      JSON.stringify(tile) ?? describe(tile),
      `one of ${TILE_PREFERENCES.map((t) => `{blockQ: ${t.blockQ}, tileKv: ${t.tileKv}}`).join(', ')}`,
    );
  }
  const kvSplits = asked?.kvSplits;
  if (kvSplits === undefined) return known;
  if (typeof kvSplits !== 'number' || !Number.isInteger(kvSplits) || kvSplits < 1 || kvSplits > 65535) {
    throw new AttentionError('options.tile.kvSplits', describe(kvSplits), 'an integer from 1 to 65535');
  }
  return { ...known, kvSplits };
}

/** For ops that bind q, k, v and the output whole (the naive passes): each must fit one binding. */
export function checkBindable(runtime: GpuRuntime, call: ValidatedSdpa): void {
  const { B, Hq, Lq, Dv } = call.dims;
  checkAllFit(runtime.device.limits, { q: call.q, k: call.k, v: call.v }, B * Hq * Lq * Dv);
}

/** The naive op's own option, `returnWeights`. */
export function checkReturnWeights(options: SdpaNaiveOptions | undefined): boolean {
  return checkFlag('options.returnWeights', options?.returnWeights);
}
