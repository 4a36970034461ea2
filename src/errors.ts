/**
 * Typed errors. Every bad argument becomes an {@link AttentionError} that names the argument,
 * what was given and what was expected; nothing is enqueued when one is thrown.
 *
 * @example
 * try { attn.sdpa(q, k, v, { scale: -1 }); }
 * catch (e) { if (e instanceof AttentionError) console.log(e.argument); } // 'scale'
 */
export class AttentionError extends Error {
  override readonly name = 'AttentionError';
  /** The argument (or option path, e.g. `options.mask`) that was rejected. */
  readonly argument: string;
  constructor(argument: string, given: string, expected: string) {
    super(`${argument}: got ${given}; expected ${expected}`);
    this.argument = argument;
  }
}

/** A WebGPU validation or out-of-memory error caught by an error scope, with the GPU object's label. */
export class GpuError extends Error {
  override readonly name = 'GpuError';
  readonly kind: 'validation' | 'out-of-memory' | 'internal';
  readonly label: string;
  constructor(kind: GpuError['kind'], label: string, message: string) {
    super(`${kind} error in ${label}: ${message}`);
    this.kind = kind;
    this.label = label;
  }
}

/** The device was lost (or the context destroyed); the context refuses new work. */
export class DeviceLostError extends Error {
  override readonly name = 'DeviceLostError';
  constructor(reason: string) {
    super(`the attention context can no longer be used: ${reason}. Create a new context with createAttention().`);
  }
}

/** Formats a value for an error message: shapes as [a, b], strings quoted, numbers as they are. */
export function describe(value: unknown): string {
  if (Array.isArray(value)) return `[${value.join(', ')}]`;
  if (typeof value === 'string') return `'${value}'`;
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<number>).length})`;
  return Object.prototype.toString.call(value);
}
