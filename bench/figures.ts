/**
 * Every measured rate of one bench run as a flat list (for the table against the device's peak,
 * bench/peak.ts), with a key where PyTorch times the same shape (bench/native.ts, torch-sdpa.py).
 */
import type { DecodeCell, DecodeResults } from './decode';
import { DECODE, DECODE_VARIANTS } from './decode';
import type { WindowRow, MapRow } from './local';
import type { MhaRow } from './mha';
import type { Figure } from './peak';
import type { Cell, Row } from './report';

/** A figure with the ms it came from; `key` names the shape as torch-sdpa.py does. */
export interface TimedFigure extends Figure {
  ms: number;
  key?: string;
}

export interface BenchResults {
  rows: readonly Row[];
  local: { window: WindowRow[]; maps: MapRow[] } | null;
  mha: readonly MhaRow[] | null;
  decode: DecodeResults | null;
}

/** The keys torch-sdpa.py writes, one per shape. */
export const shapeKey = {
  sdpa: (L: number, causal: boolean) => `sdpa L=${L} causal=${causal ? 1 : 0}`,
  decode: (Lk: number) => `decode Lk=${Lk}`,
  decodeMha: (H: number, Lk: number, D: number) => `decode-mha H=${H} Lk=${Lk} D=${D}`,
  prefill: (L: number) => `prefill L=${L}`,
};

function timed(cell: Cell | DecodeCell, figure: Figure, key?: string): TimedFigure[] {
  if (cell.ms === undefined || (cell.error !== undefined && !(cell.error <= 1))) return [];
  const gbps = (cell as DecodeCell).gbps;
  return [{ ...figure, gflops: cell.gflops, gbps, ms: cell.ms, key }];
}

function decodeFigures(d: DecodeResults): TimedFigure[] {
  const { Hq, Hkv, D } = DECODE;
  return [
    ...d.decode.flatMap((row) =>
      DECODE_VARIANTS.flatMap((v) =>
        timed(
          row.cells[v.key] ?? {},
          { part: 'decode', shape: `1·${Hq}/${Hkv}·1·${row.Lk}·${D}`, impl: v.label },
          v.key === 'flash' ? shapeKey.decode(row.Lk) : undefined,
        ),
      ),
    ),
    ...d.ort.flatMap((row) => {
      const shape = `1·${row.H}·1·${row.Lk}·${row.D}`;
      return [
        ...timed(row.flash, { part: 'decode (MHA)', shape, impl: 'flash' }, shapeKey.decodeMha(row.H, row.Lk, row.D)),
        ...timed(row.ort, { part: 'decode (MHA)', shape, impl: 'ORT, K/V as key/value' }),
      ];
    }),
    ...d.prefill.flatMap((row) =>
      timed(
        row.flash,
        { part: 'prefill', shape: `1·${Hq}/${Hkv}·${row.L}·${row.L}·${D} causal`, impl: 'flash' },
        shapeKey.prefill(row.L),
      ),
    ),
  ];
}

/** Every timed, correct cell of the run as a figure. */
export function benchFigures(r: BenchResults): TimedFigure[] {
  const sdpa = r.rows.flatMap((row) => {
    const shape = `${row.B}·${row.H}·${row.L}·${row.L}·${row.D}${row.causal ? ' causal' : ''}`;
    return [
      ...timed(row.flash, { part: 'sdpa', shape, impl: 'flash' }, shapeKey.sdpa(row.L, row.causal)),
      ...timed(row.naive, { part: 'sdpa', shape, impl: 'naive' }),
      ...timed(row.ort, { part: 'sdpa', shape, impl: 'ORT' }),
    ];
  });
  const local = r.local
    ? [
        ...r.local.window.flatMap((row) => [
          ...timed(row.window, { part: 'local', shape: `1·8·${row.L}·64, window 256`, impl: 'flash, window' }),
          ...timed(row.full, { part: 'local', shape: `1·8·${row.L}·64`, impl: 'flash, full' }),
        ]),
        ...r.local.maps.flatMap((row) =>
          timed(row.local, { part: 'local', shape: `1·4·${row.side}×${row.side}·32, 7×7`, impl: 'neighborhood2d' }),
        ),
      ]
    : [];
  const mha = (r.mha ?? []).flatMap((row) =>
    (['forward', 'inProj', 'outProj', 'attention'] as const).flatMap((part) =>
      timed(row[part], { part: 'layer', shape: `${row.spec.name}, L=${row.spec.L}`, impl: part }),
    ),
  );
  return [...sdpa, ...local, ...mha, ...(r.decode ? decodeFigures(r.decode) : [])];
}
