/**
 * Copies a byte range of a buffer to the host through a staging buffer, inside error scopes.
 */
import { withErrorScopes } from './error-scopes';

/**
 * The bytes [byteOffset, byteOffset + byteLength) of `buffer` (which needs COPY_SRC). A failed copy
 * rejects with a GpuError labelled `read <buffer label>`.
 * @example
 * const bytes = await readBack(device, buffer, 12, 64);
 */
export async function readBack(
  device: GPUDevice,
  buffer: GPUBuffer,
  byteOffset: number,
  byteLength: number,
): Promise<ArrayBuffer> {
  // Copies move whole words: widen the range to 4-byte bounds, then cut the answer back out.
  const start = Math.floor(byteOffset / 4) * 4;
  const length = Math.max(4, Math.ceil((byteOffset + byteLength - start) / 4) * 4);
  const label = `read ${buffer.label}`;
  const staging = device.createBuffer({
    label,
    size: length,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    const { errors } = withErrorScopes(device, label, () => {
      const encoder = device.createCommandEncoder({ label });
      encoder.copyBufferToBuffer(buffer, start, staging, 0, length);
      device.queue.submit([encoder.finish()]);
    });
    await errors;
    await staging.mapAsync(GPUMapMode.READ);
    const skip = byteOffset - start;
    return staging.getMappedRange().slice(skip, skip + byteLength);
  } finally {
    staging.destroy();
  }
}
