/**
 * Device acquisition. An app's own device is used as it is; otherwise the library asks for an
 * adapter and a device with the adapter's real limits (WebGPU's defaults are far below what most
 * GPUs offer, e.g. 16 KiB of workgroup storage) and the optional features it can use.
 */
import { AttentionError } from '../errors';

export interface DeviceOptions {
  /** Use this device (the app's). The context never destroys it. */
  device?: GPUDevice;
  /** Where to request an adapter: `navigator.gpu` in browsers, Dawn's `create([])` in Node. */
  gpu?: GPU;
  /** Passed to `requestAdapter`. */
  powerPreference?: GPUPowerPreference;
}

export interface AcquiredDevice {
  device: GPUDevice;
  /** True when the library created the device (and so destroys it with the context). */
  ownsDevice: boolean;
  /** The GPU instance the device came from, kept referenced: Dawn aborts if it is collected. */
  gpu: GPU | null;
}

/** Optional features the kernels can use when the adapter offers them. */
export const WANTED_FEATURES: GPUFeatureName[] = ['subgroups', 'timestamp-query', 'shader-f16'];

export async function acquireDevice(options: DeviceOptions = {}): Promise<AcquiredDevice> {
  if (options.device) return { device: options.device, ownsDevice: false, gpu: options.gpu ?? null };
  const gpu = options.gpu ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) {
    throw new AttentionError(
      'options.gpu',
      'no WebGPU (navigator.gpu is undefined)',
      "a browser with WebGPU, or in Node: createAttention({ gpu: create([]) }) with `import { create } from 'webgpu'`",
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference });
  if (!adapter) throw new AttentionError('options.gpu', 'requestAdapter() returned null', 'a WebGPU adapter');
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits: adapterLimits(adapter) });
  return { device, ownsDevice: true, gpu };
}

/** Every numeric limit the adapter reports, to request the device at the adapter's real limits. */
function adapterLimits(adapter: GPUAdapter): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const key in adapter.limits) {
    const value = (adapter.limits as unknown as Record<string, unknown>)[key];
    if (typeof value === 'number') limits[key] = value;
  }
  return limits;
}
