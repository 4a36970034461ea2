/**
 * What the wgpu ring's Deno runner (test/wgpu/runner/) tells the vitest side (test/wgpu/wgpu.test.ts):
 * one line per record on stdout, `PREFIX` then JSON. Non-finite numbers travel as strings
 * ("Infinity"), since JSON has none. Types only, plus the two codec functions: both sides import it.
 */
import type { CaseResult } from '../helpers/case-runners';

export const PREFIX = 'WGPU-RING ';

/** A named check that passed or failed (shader compiles, bad input, device loss, default limits). */
export interface Check {
  name: string;
  ok: boolean;
  message?: string;
  ms?: number;
}

export interface Environment {
  deno: string;
  adapter: { vendor: string; architecture: string; device: string; description: string };
  adapterFeatures: string[];
  adapterLimits: Record<string, number>;
  /** The device `createAttention()` made from `navigator.gpu`. */
  deviceFeatures: string[];
  deviceLimits: Record<string, number>;
  /** The optional features the library asks for where offered (src/gpu/device.ts). */
  wantedFeatures: string[];
  /** `navigator.gpu.wgslLanguageFeatures`. */
  wgslLanguageFeatures: string[];
}

/**
 * Table cases the runner also runs on a device made with `adapter.requestDevice()`: WebGPU's
 * default limits (16 KiB of workgroup storage, …) and no optional feature. One per operation family.
 */
export const DEFAULT_LIMIT_CASES = [
  'D=256 L=100 B=2',
  'neighborhood 2-D 13×17 k=7 causal [x] rpb D=8',
  'mha E=64 H=8 Hkv=2 rotary NeoX dim=4 offset=5 packed causal',
  'linear 257×129×300 with bias',
];

/**
 * Table cases that cannot run on wgpu, by name, with the reason: the runner skips them and the
 * ring names them with the reason (and the README's compatibility table lists them). Empty today.
 */
export const NOT_ON_WGPU: Record<string, string> = {};

/** The device-loss and lifecycle checks, in the order the runner reports them. */
export const LIFECYCLE_CHECKS = [
  'reads in flight and a call made after device.destroy() reject with DeviceLostError',
  'device.lost resolves and the context is no longer alive',
  'after the loss, reads reject and every call throws DeviceLostError',
  'a destroyed context refuses new work with DeviceLostError and says what to do',
];

export type RingRecord =
  | { kind: 'environment'; environment: Environment }
  /** The case in progress, so a crash or a timeout can name it. */
  | { kind: 'running'; name: string }
  | { kind: 'shader'; check: Check }
  /** The Tint-only kernel through the same compile check (it must fail there). */
  | { kind: 'tint-only'; check: Check }
  | { kind: 'case'; result: CaseResult }
  | { kind: 'rejection'; check: Check }
  | { kind: 'lifecycle'; check: Check }
  | { kind: 'uncaptured'; message: string }
  | { kind: 'fatal'; message: string }
  | { kind: 'done'; ms: number };

export function encodeRecord(record: RingRecord): string {
  return (
    PREFIX + JSON.stringify(record, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))
  );
}

/** The record on `line`, or null for any other output (wgpu's and Deno's own messages). */
export function decodeRecord(line: string): RingRecord | null {
  if (!line.startsWith(PREFIX)) return null;
  return JSON.parse(line.slice(PREFIX.length), (k, v: unknown) =>
    (k === 'maxErr' || k === 'ms') && typeof v === 'string' ? Number(v) : v,
  ) as RingRecord;
}

/** The compute entry points of a WGSL source, in order (`@compute @workgroup_size(…) fn name(`). */
export function computeEntryPoints(source: string): string[] {
  return [...source.matchAll(/@compute\b[^;{]*?\bfn\s+(\w+)/g)].map((m) => m[1]);
}
