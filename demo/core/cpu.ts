/**
 * The page's side of the CPU reference worker (cpu-worker.ts): one call at a time in order, each a
 * promise; `cancelCpu()` ends the worker (a run in progress is abandoned) and the next call starts
 * a fresh one.
 */

/** A host tensor with float32 or float64 data (the reference reads either). */
export interface HostData {
  data: Float32Array | Float64Array | Uint8Array;
  shape: number[];
}

export type CpuCall =
  | { kind: 'call'; fn: string; args: unknown[] }
  | { kind: 'mha'; config: unknown; x: HostData; options?: unknown }
  | { kind: 'mhaStack'; configs: unknown[]; x: { data: Float32Array | Float64Array; shape: number[] } }
  | {
      kind: 'graphAttention';
      edgeIndex: { data: Int32Array; shape: number[] };
      numNodes: number;
      x: HostData;
      options: unknown;
    };

export type CpuReply = { id: number; ok: true; result: unknown; ms: number } | { id: number; ok: false; error: string };

/** A float64 result as the reference returns it. */
export interface RefTensor {
  data: Float64Array;
  shape: number[];
}

let worker: Worker | null = null;
let nextId = 1;
const pending = new Map<
  number,
  { resolve: (r: { result: unknown; ms: number }) => void; reject: (e: Error) => void }
>();

function start(): Worker {
  const w = new Worker(new URL('./cpu-worker.ts', import.meta.url), { type: 'module', name: 'cpu-reference' });
  w.onmessage = (ev: MessageEvent<CpuReply>) => {
    const p = pending.get(ev.data.id);
    if (!p) return;
    pending.delete(ev.data.id);
    if (ev.data.ok) p.resolve({ result: ev.data.result, ms: ev.data.ms });
    else p.reject(new Error(ev.data.error));
  };
  w.onerror = (ev) => {
    ev.preventDefault();
    for (const p of pending.values()) p.reject(new Error(`the CPU reference worker failed: ${ev.message}`));
    pending.clear();
    worker = null;
  };
  return w;
}

/** Runs `reference.<fn>(...args)` in the worker; resolves with its result and time. */
export function cpuCall<T>(fn: string, ...args: unknown[]): Promise<{ result: T; ms: number }> {
  return cpu<T>({ kind: 'call', fn, args });
}

/** Runs a call or a recipe in the worker; resolves with its result and time. */
export function cpu<T>(call: CpuCall): Promise<{ result: T; ms: number }> {
  worker ??= start();
  const id = nextId++;
  const w = worker;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve: resolve as (r: { result: unknown; ms: number }) => void, reject });
    w.postMessage({ id, call });
  });
}

/** Ends the worker: every pending call rejects with "cancelled". */
export function cancelCpu(): void {
  worker?.terminate();
  worker = null;
  for (const p of pending.values()) p.reject(new Error('cancelled'));
  pending.clear();
}

/** The output tensor of any reference result (a tensor, or `{ output, … }`). */
export function outputOf(r: unknown): RefTensor {
  return (r as { output?: RefTensor }).output ?? (r as RefTensor);
}
