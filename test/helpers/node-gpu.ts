/**
 * Dawn (the `webgpu` package) for the Node ring. One GPU instance per worker process, kept
 * referenced for the process's life: if it were collected, Dawn would abort at the next async call.
 */
import { create, globals } from 'webgpu';

let instance: GPU | null = null;

/** The process-wide Dawn GPU object (WebGPU's globals such as GPUBufferUsage are installed too). */
export async function nodeGpu(): Promise<GPU> {
  if (!instance) {
    Object.assign(globalThis, globals);
    instance = create([]) as GPU;
  }
  return instance;
}
