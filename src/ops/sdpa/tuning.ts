/**
 * Measured tile choices for the flash kernel and the GEMM: what `attn.tune()` keeps per context and
 * what `createAttention({ tuning })` takes back. A tuning maps a shape class — for sdpa the head
 * dims, whether the call decodes (few packed rows per kv head), and whether it is causal; for the
 * GEMM (`linear …` classes) the bucket of its row count — to the tiling that ran fastest on this
 * device. `attn.sdpa` without an explicit `tile`, `attn.linear` and a layer's projections look their
 * class up; a class with no entry, or an entry that does not fit the call, keeps the plan's default.
 */
import type { SdpaDims } from '../../contract/sdpa';
import { AttentionError, describe } from '../../errors';
import type { MatmulTile } from '../linear/plan';
import { isLinearTile, keepLinearTiles, LINEAR_CLASSES } from '../linear/plan-tuning';
import { TILE_PREFERENCES, type SdpaTile } from './plan';

/** A measured choice: the class it is for, the tile, and the time it took and the plan's default took. */
export interface SdpaTuningEntry {
  shapeClass: string;
  tile: SdpaTile;
  ms: number;
  defaultMs: number;
}

/** A measured GEMM tiling (shaders/linear.wgsl) for a `linear M<=4` … `linear M>16` class. */
export interface LinearTuningEntry {
  shapeClass: string;
  tile: MatmulTile;
  ms: number;
  defaultMs: number;
}

export type TuningEntry = SdpaTuningEntry | LinearTuningEntry;

/** Whether an entry is a GEMM's (its class starts with `linear `). */
export function isLinearEntry(e: TuningEntry): e is LinearTuningEntry {
  return e.shapeClass.startsWith('linear ');
}

/** What `attn.tune()` returns and `createAttention({ tuning })` takes: JSON-safe. */
export interface Tuning {
  version: 1;
  /** The adapter it was measured on (a tuning from another device still loads; it is only a hint). */
  adapter: string;
  entries: TuningEntry[];
}

const stores = new WeakMap<object, Map<string, SdpaTile>>();

/** Packed rows per kv head up to which a call counts as decoding. */
const DECODE_ROWS = 16;

/**
 * The shape class of a call: `D×Dv`, decode or prefill, causal or not.
 * @example
 * shapeClass({ B: 1, Hq: 32, Hkv: 8, Lq: 1, Lk: 4096, D: 128, Dv: 128 }, true); // 'D128xDv128 decode causal'
 */
export function shapeClass(dims: SdpaDims, causal: boolean): string {
  const rows = (dims.Hq / dims.Hkv) * dims.Lq;
  return `D${dims.D}xDv${dims.Dv} ${rows <= DECODE_ROWS ? 'decode' : 'prefill'}${causal ? ' causal' : ''}`;
}

/** The tuned tile of a call's class on this context, if any. */
export function tunedTile(owner: object, dims: SdpaDims, causal: boolean): SdpaTile | undefined {
  return stores.get(owner)?.get(shapeClass(dims, causal));
}

/** Keeps `entries` for the context `owner` (later entries of a class replace earlier ones). */
export function keepTuning(owner: object, entries: readonly TuningEntry[]): void {
  const store = stores.get(owner) ?? new Map<string, SdpaTile>();
  for (const e of entries) if (!isLinearEntry(e)) store.set(e.shapeClass, e.tile);
  stores.set(owner, store);
  keepLinearTiles(owner, entries.filter(isLinearEntry));
}

/** Whether an sdpa entry names a flash tiling (with a valid split count, if any). */
function sdpaEntryOk(e: Partial<SdpaTuningEntry> | null): boolean {
  const known = TILE_PREFERENCES.some((p) => p.blockQ === e?.tile?.blockQ && p.tileKv === e?.tile?.tileKv);
  const splits = e?.tile?.kvSplits;
  return known && (splits === undefined || (Number.isInteger(splits) && splits >= 1 && splits <= 65535));
}

/** Whether an entry is a GEMM class with one of the GEMM tilings. */
function linearEntryOk(e: Partial<LinearTuningEntry>): boolean {
  return LINEAR_CLASSES.includes(e.shapeClass!) && isLinearTile(e.tile);
}

/** Checks a tuning given back to `createAttention` (as JSON may have altered it). */
export function checkTuning(value: unknown): Tuning {
  const fail = (got: string, expected: string): never => {
    throw new AttentionError('options.tuning', got, expected);
  };
  const t = value as Partial<Tuning> | null;
  if (typeof t !== 'object' || t === null || t.version !== 1 || !Array.isArray(t.entries)) {
    fail(describe(value), 'what attn.tune() returned: { version: 1, adapter, entries: [...] }');
  }
  for (const e of t!.entries! as (TuningEntry | null)[]) {
    if (typeof e?.shapeClass !== 'string') fail(`entry ${JSON.stringify(e)}`, '{ shapeClass, tile, ms, defaultMs }');
    if (isLinearEntry(e!) ? !linearEntryOk(e!) : !sdpaEntryOk(e as SdpaTuningEntry)) {
      const tiles = isLinearEntry(e!)
        ? `shapeClass one of ${LINEAR_CLASSES.join(', ')} and tile one of the GEMM tilings`
        : 'tile: one of the flash tilings';
      fail(`entry ${JSON.stringify(e)}`, `{ shapeClass, ${tiles}, ms, defaultMs }`);
    }
  }
  return t as Tuning;
}
