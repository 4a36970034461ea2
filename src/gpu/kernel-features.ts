/**
 * Which optional device features the kernels use: subgroups (sdpa's row statistics) and f16
 * arithmetic (sdpa's tiles and P·V for all-f16 inputs). By default, each where the device has it;
 * a context option turns one off (to compare, or to step around a driver's bug), and asking for one
 * the device lacks is refused.
 */
import { AttentionError } from '../errors';

/** The device features a kernel's prelude may use (what overrides cannot switch: a module using them needs `enable`). */
export interface KernelFeatures {
  /** Lane groups are subgroups (`enable subgroups`), else single invocations. */
  subgroups: boolean;
  /** Input tiles and bounded products in f16 (`enable f16`), for calls whose inputs are all f16. */
  f16: boolean;
}

export interface KernelFeatureOptions {
  /**
   * Reduce softmax rows with subgroup operations (default: when the device has `subgroups`).
   * `false` keeps the workgroup-memory path; both give the same results.
   */
  subgroups?: boolean;
  /**
   * For calls whose q, k and v are all f16: f16 tiles in workgroup memory and P·V products in f16,
   * sums and softmax state in f32 (default: when the device has `shader-f16`). `false` widens to f32.
   */
  f16Arithmetic?: boolean;
}

/**
 * Whether a flash call runs on f16 tiles (sdpa.wgsl with `enable f16`): f16 arithmetic is on and q,
 * k and v are all stored as f16. The plan (which sizes the tiles) and the encoder (which picks the
 * module) both ask here, so the two cannot disagree.
 */
export function f16Tiles(features: KernelFeatures, inputsF16: readonly (boolean | undefined)[]): boolean {
  return features.f16 && inputsF16.every((f) => f === true);
}

/** What the device allows, narrowed by the options; an AttentionError for a feature it lacks. */
export function kernelFeatures(device: GPUDevice, options: KernelFeatureOptions = {}): KernelFeatures {
  return {
    subgroups: wanted(device, 'subgroups', 'options.subgroups', options.subgroups),
    f16: wanted(device, 'shader-f16', 'options.f16Arithmetic', options.f16Arithmetic),
  };
}

/** kernelFeatures for a device just acquired: one the library made is destroyed when an option is refused. */
export function acquiredFeatures(
  acquired: { device: GPUDevice; ownsDevice: boolean },
  options: KernelFeatureOptions,
): KernelFeatures {
  try {
    return kernelFeatures(acquired.device, options);
  } catch (error) {
    if (acquired.ownsDevice) acquired.device.destroy();
    throw error;
  }
}

function wanted(device: GPUDevice, feature: GPUFeatureName, argument: string, asked: boolean | undefined): boolean {
  if (asked !== undefined && typeof asked !== 'boolean') {
    throw new AttentionError(argument, String(asked), 'true, false or undefined');
  }
  const has = device.features.has(feature);
  if (asked === true && !has) {
    throw new AttentionError(
      argument,
      `true, but the device was created without the '${feature}' feature`,
      `false or undefined (or a device made with requiredFeatures: ['${feature}'])`,
    );
  }
  return asked ?? has;
}
