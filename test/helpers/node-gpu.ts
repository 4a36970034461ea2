/**
 * Dawn (the `webgpu` package) for the Node ring. One GPU instance per worker process, kept
 * referenced for the process's life: if it were collected, Dawn would abort at the next async call.
 *
 * On SwiftShader, Dawn's default use of VK_KHR_zero_initialize_workgroup_memory makes pipeline
 * compiles slow in proportion to a pipeline's workgroup memory (seconds to tens of seconds each).
 * Disabling that feature makes Dawn zero-fill workgroup memory in the shader instead: the same
 * WGSL semantics, compiles of well under a second. The browser ring's whole-table pass does the
 * same; its `src/` pass and the demo test keep Chromium's default, and wgpu uses the extension for
 * every case, so both ways stay tested. NODE_GPU_DEFAULTS=1 runs the Node ring with Dawn's defaults too.
 */
import { create, globals } from 'webgpu';

let instance: GPU | null = null;

/** The process-wide Dawn GPU object (WebGPU's globals such as GPUBufferUsage are installed too). */
export async function nodeGpu(): Promise<GPU> {
  if (!instance) {
    Object.assign(globalThis, globals);
    const toggles = process.env.NODE_GPU_DEFAULTS
      ? []
      : ['disable-dawn-features=use_vulkan_zero_initialize_workgroup_memory_extension'];
    instance = create(toggles) as GPU;
  }
  return instance;
}
