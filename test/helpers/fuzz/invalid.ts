/**
 * Random invalid calls: each operation has a table of mutations of one valid call (a bad value for
 * one argument or option). A rejected call must throw an AttentionError whose `argument` is set
 * (and names what was mutated), and must leave the context as it found it: no buffer taken from or
 * returned to the pool (liveBuffers, pooledBytes), no pipeline compiled, nothing submitted to or
 * written into the queue.
 */
import fc from 'fast-check';
import { AttentionError, GpuMask, GpuTensor, type AttentionContext } from '../../../src/index';
import { sizeOf } from './data';
import { changes, snapshot, type World } from './world';

/** A prepared bad call: the tensors it needs exist already; `argument` lists acceptable names. */
export interface Prepared {
  call: () => unknown;
  argument: string | readonly string[];
  cleanup?: () => void;
}

export interface Mutation {
  /** Bad values to try (one per case); `[undefined]` when the mutation is structural. */
  values: readonly unknown[];
  build(kit: Kit, value: unknown, variant: number): Prepared;
}

export type MutationTable = Record<string, Mutation>;

/** A printable invalid call: which operation, which mutation, which bad value, a structural choice. */
export interface InvalidSpec {
  op: string;
  kind: string;
  value: unknown;
  variant: number;
}

/** Tensors for building calls: on the context, on the other context, or already destroyed. */
export class Kit {
  private readonly made: { destroy(): void }[] = [];

  constructor(readonly w: World) {}

  get attn(): AttentionContext {
    return this.w.attn;
  }

  private track<T extends { destroy(): void }>(t: T): T {
    this.made.push(t);
    return t;
  }

  /** A float tensor of `shape` (values in [−1, 1)). */
  t(shape: number[]): GpuTensor {
    return this.track(
      this.w.attn.tensor(
        Float32Array.from({ length: sizeOf(shape) }, (_, i) => Math.sin(i)),
        shape,
      ),
    );
  }

  /** A boolean mask of `shape`, all 1. */
  m(shape: number[]): GpuMask {
    return this.track(this.w.attn.mask(new Uint8Array(sizeOf(shape)).fill(1), shape));
  }

  /** A tensor of the other context. */
  foreign(shape: number[]): GpuTensor {
    return this.track(this.w.other.tensor(new Float32Array(sizeOf(shape)), shape));
  }

  /** A tensor of this context, destroyed. */
  destroyed(shape: number[]): GpuTensor {
    const t = this.w.attn.tensor(new Float32Array(sizeOf(shape)), shape);
    t.destroy();
    return t;
  }

  /** An app buffer of this context's device (destroyed with the kit). */
  buffer(size: number, usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST): GPUBuffer {
    return this.track(this.w.attn.device.createBuffer({ size, usage }));
  }

  /** Anything the context could have produced from an accepted call, destroyed. */
  dispose(result: unknown): void {
    if (result instanceof GpuTensor || result instanceof GpuMask) return result.destroy();
    if (typeof result !== 'object' || result === null) return;
    if ('forward' in result && typeof (result as { destroy?: unknown }).destroy === 'function')
      return (result as unknown as { destroy(): void }).destroy();
    Object.values(result).forEach((v) => (v instanceof GpuTensor || v instanceof GpuMask) && v.destroy());
  }

  cleanup(): void {
    this.made.forEach((t) => t.destroy());
    this.made.length = 0;
  }
}

/** Values that are not tensors (a host tensor, a plain object, a typed array, scalars). */
export const NOT_TENSORS: readonly unknown[] = [
  undefined,
  null,
  3,
  'q',
  {},
  [1, 2, 3],
  new Float32Array(4),
  { data: new Float32Array(4), shape: [1, 1, 1, 4] },
];

/** Invalid calls of one operation: a mutation, one of its values, a structural variant (0–7). */
export function invalidArb(op: string, table: MutationTable): fc.Arbitrary<InvalidSpec> {
  const kinds = Object.keys(table);
  return (
    fc
      // Uniform (unbiased) picks, so every mutation and every value comes up alike.
      .record({
        kind: fc.noBias(fc.nat({ max: kinds.length - 1 })),
        value: fc.noBias(fc.nat({ max: 63 })),
        variant: fc.noBias(fc.nat({ max: 7 })),
      })
      .map(({ kind, value, variant }) => {
        const name = kinds[kind];
        const values = table[name].values;
        return { op, kind: name, value: values[value % values.length], variant };
      })
  );
}

/** What went wrong with one invalid call (empty when it was rejected cleanly). */
export function rejectionProblems(w: World, table: MutationTable, spec: InvalidSpec): string[] {
  const kit = new Kit(w);
  const problems: string[] = [];
  try {
    const prepared = table[spec.kind].build(kit, spec.value, spec.variant);
    const expected = typeof prepared.argument === 'string' ? [prepared.argument] : prepared.argument;
    const before = snapshot(w);
    let caught: unknown;
    let result: unknown;
    try {
      result = prepared.call();
    } catch (error) {
      caught = error;
    }
    const after = snapshot(w);
    if (caught === undefined) {
      problems.push(`no error: the call was accepted (expected an AttentionError on ${expected.join(' or ')})`);
      kit.dispose(result);
    } else if (!(caught instanceof AttentionError)) {
      const e = caught as Error;
      problems.push(
        `threw ${e?.constructor?.name ?? typeof e} instead of an AttentionError: ${e?.message ?? String(e)}`,
      );
    } else if (typeof caught.argument !== 'string' || caught.argument === '') {
      problems.push(`AttentionError without an argument: ${caught.message}`);
    } else if (!expected.includes(caught.argument)) {
      problems.push(
        `AttentionError on '${caught.argument}', expected ${expected.map((a) => `'${a}'`).join(' or ')}: ${caught.message}`,
      );
    }
    const changed = changes(before, after);
    if (changed.length)
      problems.push(
        `${caught === undefined ? 'the call' : 'the rejected call'} changed the context: ${changed.join(', ')}`,
      );
    prepared.cleanup?.();
  } finally {
    kit.cleanup();
  }
  return problems;
}
