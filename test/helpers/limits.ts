/**
 * Device limits for the pure plan tests: the WebGPU minimum every device offers, and what
 * SwiftShader reports (the device the suite runs on without a GPU).
 */
import type { DeviceLimits } from '../../src/gpu/limits';

/** WebGPU's default (minimum) limits. */
export const WEBGPU_MINIMUM: DeviceLimits = {
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBufferBindingSize: 134217728,
  maxBufferSize: 268435456,
};

/** SwiftShader through Dawn: 32 KiB of workgroup storage, otherwise the minimum's compute limits. */
export const SWIFTSHADER: DeviceLimits = { ...WEBGPU_MINIMUM, maxComputeWorkgroupStorageSize: 32768 };
