/**
 * A cap on the distinct kernel variants (pipelines: one per override set) the ring compiles. On
 * SwiftShader a flash pipeline compiles in ~0.6 s and a run of a compiled one takes milliseconds, so
 * the generators stay free (they shrink well) and this cap does the biasing. A case names the
 * pipelines it needs as keys ("flash:…", "naive:…", "linear:…", "local:…"; a layer needs several);
 * keys compiled before are free, new ones are charged to the admitting family until its cap, and
 * afterwards only cases made of known keys run (others are skipped with fc.pre). Once a property has
 * failed its shrinks may compile a few more (SHRINK_CAPS): smaller cases often need another tiling.
 *
 * Keys are computed here from the case: the options that become overrides, and the tiling the
 * library's own (pure) plan functions pick for the case on this device. They need not match the
 * library's pipeline keys exactly, only bound them.
 */
import type { DeviceLimits } from '../../../src/gpu/limits';
import { SWIFTSHADER } from '../limits';
import { SETTINGS } from './settings';

let limits: DeviceLimits = SWIFTSHADER;

/** The limits the keys' plans are made for (the ring's device; SwiftShader's until it is known). */
export function useDeviceLimits(device: DeviceLimits): void {
  limits = device;
}
export const deviceLimits = (): DeviceLimits => limits;

export type Family = 'flash' | 'naive' | 'local' | 'linear' | 'mha';

/** New keys each family may bring in at FUZZ_SCALE = 1 (scaled with it; `npm test` runs 0.5). */
const CAPS: Record<Family, number> = { flash: 16, naive: 24, local: 10, linear: 6, mha: 10 };
/** Extra keys the shrinks of one failing property may bring in (flash pipelines are the slow ones). */
const SHRINK_CAPS: Record<Family, number> = { flash: 6, naive: 30, local: 6, linear: 8, mha: 6 };

const known = new Set<string>();
const charged: Record<Family, number> = { flash: 0, naive: 0, local: 0, linear: 0, mha: 0 };
let shrinking = false;
let shrinkCharged = 0;

/** Whether a case of `family` that needs the pipelines `keys` may run now. */
export function admit(family: Family, keys: string | readonly string[]): boolean {
  const fresh = (typeof keys === 'string' ? [keys] : keys).filter((k) => !known.has(k));
  if (fresh.length === 0) return true;
  const scaled = (cap: number) => Math.max(1, Math.round(cap * SETTINGS.scale));
  const within = charged[family] + fresh.length <= scaled(CAPS[family]);
  // Shrinks keep at least the scale-1 allowance: a smaller failing case often needs another tiling.
  const shrink =
    shrinking && shrinkCharged + fresh.length <= Math.round(SHRINK_CAPS[family] * Math.max(1, SETTINGS.scale));
  if (SETTINGS.budget && !within && !shrink) return false;
  if (within) charged[family] += fresh.length;
  else shrinkCharged += fresh.length;
  fresh.forEach((k) => known.add(k));
  return true;
}

/** New keys admitted so far, per family (printed at the end). */
export function admitted(): Record<Family, number> {
  return { ...charged };
}

/** Start of a property: no failure seen yet. */
export function closeShrinkWindow(): void {
  shrinking = false;
  shrinkCharged = 0;
}

/** Wraps a property body: its first failure opens the window for the shrinks that follow. */
export function opensOnFailure<T>(body: (value: T) => Promise<void>): (value: T) => Promise<void> {
  return async (value) => {
    try {
      await body(value);
    } catch (error) {
      shrinking = true;
      throw error;
    }
  };
}
