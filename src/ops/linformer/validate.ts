/**
 * Validation of `attn.linformer`: the contract's checks (shapes, projections [r, Lk], the
 * position-free sdpa options, the mask over [B, Hq, Lq, r]) plus what only the GPU path has
 * (tensors of this context, buffer limits, the projected k and v as scratch). Nothing past this
 * point throws an AttentionError but the plans' device checks.
 */
import { checkLinformerOptions, validateLinformerCall, type LinformerOptionsOf } from '../../contract/linformer';
import { validateMaskShape, type MaskStrides, type ResolvedSdpaOptions, type SdpaDims } from '../../contract/sdpa';
import { AttentionError, describe } from '../../errors';
import { checkAllFit, checkFits } from '../../gpu/limits';
import type { GpuRuntime } from '../../gpu/runtime';
import { checkTensor, F32_OR_F16, GpuMask, GpuTensor } from '../../tensor';

/** Options of `attn.linformer`: projectK and projectV as GpuTensors, a float GpuTensor or boolean GpuMask as mask. */
export type LinformerOptions = LinformerOptionsOf<GpuTensor, GpuTensor | GpuMask>;

/** A checked call. `dims` are those of the attention after projection (Lk = r). */
export interface ValidatedGpuLinformer {
  q: GpuTensor;
  k: GpuTensor;
  v: GpuTensor;
  projectK: GpuTensor;
  projectV: GpuTensor;
  dims: SdpaDims;
  /** Lk of k and v. */
  keys: number;
  options: ResolvedSdpaOptions;
  mask: { mask: GpuTensor | GpuMask; strides: MaskStrides } | null;
  outputShape: number[];
}

function checkMask(runtime: GpuRuntime, value: unknown, dims: SdpaDims): ValidatedGpuLinformer['mask'] {
  if (value === undefined || value === null) return null;
  if (!(value instanceof GpuTensor) && !(value instanceof GpuMask)) {
    const wanted = 'a GpuTensor (additive float mask) or a GpuMask (boolean, from attn.mask())';
    throw new AttentionError('options.mask', describe(value), wanted);
  }
  value.assertUsable('options.mask', runtime);
  return { mask: value, strides: validateMaskShape(value.shape, dims) };
}

/**
 * Checks every argument of a Linformer call.
 * @example
 * validateLinformerGpuCall(runtime, q, k, v, { projectK: E, projectV: F }).dims.Lk; // r
 */
export function validateLinformerGpuCall(
  runtime: GpuRuntime,
  q: unknown,
  k: unknown,
  v: unknown,
  options: unknown,
): ValidatedGpuLinformer {
  runtime.assertAlive();
  const qT = checkTensor(runtime, 'q', q, false, F32_OR_F16);
  const kT = checkTensor(runtime, 'k', k, false, F32_OR_F16);
  const vT = checkTensor(runtime, 'v', v, false, F32_OR_F16);
  const o = checkLinformerOptions(options);
  const projectK = checkTensor(runtime, 'options.projectK', o.projectK, false, F32_OR_F16);
  const projectV = checkTensor(runtime, 'options.projectV', o.projectV, false, F32_OR_F16);
  const call = validateLinformerCall(qT.shape, kT.shape, vT.shape, projectK.shape, projectV.shape, o);
  const mask = checkMask(runtime, o.mask, call.dims);
  const { B, Hq, Hkv, Lq, Lk: r, D, Dv } = call.dims;
  const limits = runtime.device.limits;
  checkAllFit(
    limits,
    { q: qT, k: kT, v: vT, 'options.projectK': projectK, 'options.projectV': projectV },
    B * Hq * Lq * Dv,
  );
  if (mask) checkFits(limits, 'options.mask', mask.mask.size, mask.mask.size * mask.mask.bytesPerElement);
  // The projected k and v are scratch of the call: [B, Hkv, r, D] and [B, Hkv, r, Dv], f32.
  checkFits(limits, 'options.projectK', B * Hkv * r * D, B * Hkv * r * D * 4);
  checkFits(limits, 'options.projectV', B * Hkv * r * Dv, B * Hkv * r * Dv * 4);
  const outputShape = call.options.layout === 'bshd' ? [B, Lq, Hq, Dv] : [B, Hq, Lq, Dv];
  return { q: qT, k: kT, v: vT, projectK, projectV, ...call, mask, outputShape };
}
