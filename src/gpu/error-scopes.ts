/**
 * Runs synchronous GPU work inside validation / out-of-memory / internal error scopes and turns a
 * popped error into a GpuError carrying the label of what was being done.
 */
import { GpuError } from '../errors';

/**
 * Runs `work` inside error scopes. Returns its result and a promise that rejects with a GpuError
 * if the device reported one (the promise is observed, so an unread failure is not unhandled).
 */
export function withErrorScopes<T>(
  device: GPUDevice,
  label: string,
  work: () => T,
): { result: T; errors: Promise<void> } {
  device.pushErrorScope('internal');
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: work() };
  } catch (error) {
    outcome = { ok: false, error };
  }
  // Scopes are popped whatever happened, so the device's scope stack stays balanced.
  const validation = device.popErrorScope();
  const oom = device.popErrorScope();
  const internal = device.popErrorScope();
  const errors = collect(label, validation, oom, internal);
  errors.catch(() => undefined);
  if (!outcome.ok) throw outcome.error;
  return { result: outcome.value, errors };
}

async function collect(label: string, ...scopes: Promise<GPUError | null>[]): Promise<void> {
  const kinds: GpuError['kind'][] = ['validation', 'out-of-memory', 'internal'];
  const popped = await Promise.all(scopes);
  popped.forEach((error, i) => {
    if (error) throw new GpuError(kinds[i], label, error.message);
  });
}
