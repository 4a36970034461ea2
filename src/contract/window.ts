/**
 * The sliding-window part of the attention contract (docs/semantics.md): validation of `window`,
 * `dilation` and `globalTokens`, and the rule itself, which the CPU reference applies key by key
 * and the kernels implement in WGSL. Pure: nothing here touches a device.
 */
import { AttentionError, describe } from '../errors';

/** A validated window. Reaches are in key positions (left·dilation); −1 = unbounded. */
export interface ResolvedWindow {
  left: number;
  right: number;
  dilation: number;
  /** Sorted, distinct key positions. */
  globalTokens: number[];
  /** Keys j < sinkTokens are visible whatever the window (StreamingLLM's attention sinks). */
  sinkTokens: number;
}

/** The window that restricts nothing. */
export const NO_WINDOW: ResolvedWindow = { left: -1, right: -1, dilation: 1, globalTokens: [], sinkTokens: 0 };

function checkSide(argument: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -1) {
    throw new AttentionError(argument, describe(value), 'an integer ≥ −1 (−1 = unbounded on that side)');
  }
  return value;
}

/** An integer ≥ 0; more than Lk means every key (clamped there, so it fits an i32 uniform). */
function checkSinkTokens(value: unknown, kvLen: number): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new AttentionError('options.sinkTokens', describe(value), 'an integer ≥ 0 (the first keys always visible)');
  }
  return Math.min(value, kvLen);
}

function checkGlobalTokens(value: unknown, kvLen: number): number[] {
  if (value === undefined) return [];
  if (!Array.isArray(value))
    throw new AttentionError('options.globalTokens', describe(value), 'an array of key positions');
  const seen = new Set<number>();
  for (const g of value) {
    if (typeof g !== 'number' || !Number.isInteger(g) || g < 0 || g >= kvLen) {
      throw new AttentionError(
        'options.globalTokens',
        `${describe(g)} in ${describe(value)}`,
        `integer key positions 0 … ${kvLen - 1} (Lk = ${kvLen})`,
      );
    }
    if (seen.has(g))
      throw new AttentionError('options.globalTokens', `${g} twice in ${describe(value)}`, 'distinct positions');
    seen.add(g);
  }
  return [...seen].sort((a, b) => a - b);
}

/**
 * Checks `window`, `dilation` and `globalTokens` and returns the reaches in positions. No key lies
 * max(Lq, Lk) or more positions from a query (in either alignment), so a reach that long is
 * unbounded (−1) and a dilation that long allows only the query's own position: both are clamped
 * there, which keeps every value the kernels take in i32 whatever integer was given.
 * @example
 * validateWindow({ left: 2, right: 0 }, 3, undefined, { Lq: 100, Lk: 100 }); // { left: 6, right: 0, dilation: 3, globalTokens: [] }
 * validateWindow({ left: -1, right: 2 ** 31 - 1 }, 1, undefined, { Lq: 8, Lk: 8 }).right; // -1
 */
export function validateWindow(
  window: unknown,
  dilation: unknown,
  globalTokens: unknown,
  lengths: { Lq: number; Lk: number },
  sinkTokens: unknown = undefined,
): ResolvedWindow {
  let left = -1;
  let right = -1;
  if (window !== undefined) {
    if (typeof window !== 'object' || window === null) {
      throw new AttentionError('options.window', describe(window), '{ left, right } with integers ≥ −1');
    }
    left = checkSide('options.window.left', (window as { left?: unknown }).left);
    right = checkSide('options.window.right', (window as { right?: unknown }).right);
  }
  const d = dilation === undefined ? 1 : dilation;
  if (typeof d !== 'number' || !Number.isInteger(d) || d < 1) {
    throw new AttentionError('options.dilation', describe(dilation), 'an integer ≥ 1');
  }
  const longest = Math.max(lengths.Lq, lengths.Lk);
  const reach = (side: number) => (side < 0 || side * d >= longest ? -1 : side * d);
  return {
    left: reach(left),
    right: reach(right),
    dilation: Math.min(d, longest),
    globalTokens: checkGlobalTokens(globalTokens, lengths.Lk),
    sinkTokens: checkSinkTokens(sinkTokens, lengths.Lk),
  };
}

/** Whether the window restricts anything at all (the kernels skip its code otherwise). */
export function hasWindow(w: ResolvedWindow): boolean {
  return w.left >= 0 || w.right >= 0 || w.dilation > 1;
}

/**
 * The window rule for a query at position p and key j (causal and masks are separate).
 * @example
 * windowAllows({ left: 2, right: 2, dilation: 2, globalTokens: [] }, 5, 3, new Set()); // true (5 − 2)
 */
export function windowAllows(w: ResolvedWindow, p: number, j: number, global: ReadonlySet<number>): boolean {
  if (global.has(j) || global.has(p) || j < w.sinkTokens) return true;
  const delta = j - p;
  return (w.left < 0 || delta >= -w.left) && (w.right < 0 || delta <= w.right) && delta % w.dilation === 0;
}
