/**
 * Block-sparse attention's tile bits for the flash kernel: for each workgroup's block of packed rows
 * and each key tile, whether some row of the block has an on block among the tile's keys. The kernel
 * skips tiles whose bit is 0 (never loaded), so the work follows the blocks that are on. Pure, from
 * the block mask, the sizes and the plan; unit-tested without a GPU.
 */
import type { SdpaDims } from '../../contract/sdpa';
import { blockOn, type ResolvedBlockMask } from '../../contract/variants';

/** Bits of a flash plan's workgroup blocks × key tiles, `tileWords` words per block. */
export interface TileBits {
  words: Uint32Array;
  tileWords: number;
}

/** The distinct (query head, query block) of rows row0 … row1 − 1 of kv head g's packed rows. */
function rowBlocks(m: ResolvedBlockMask, dims: SdpaDims, g: number, row0: number, row1: number): [number, number][] {
  const group = dims.Hq / dims.Hkv;
  const seen = new Set<string>();
  const out: [number, number][] = [];
  for (let rho = row0; rho < row1; rho++) {
    const h = g * group + Math.floor(rho / dims.Lq);
    const qb = Math.floor((rho % dims.Lq) / m.bq);
    const key = `${h},${qb}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push([h, qb]);
    }
  }
  return out;
}

/**
 * The tile bits of a plan: block w = (b·Hkv + g)·qBlocks + block holds rows block·blockQ … of
 * (b, g), and bit t of its words says whether key tile t (keys t·tileKv …) meets an on block of them.
 * @example
 * blockTileBits(mask, dims, { blockQ: 32, tileKv: 32, qBlocks: 4 }).words.length; // B·Hkv·4·⌈⌈Lk/32⌉/32⌉
 */
export function blockTileBits(
  m: ResolvedBlockMask,
  dims: SdpaDims,
  plan: { blockQ: number; tileKv: number; qBlocks: number },
): TileBits {
  const keyTiles = Math.max(1, Math.ceil(dims.Lk / plan.tileKv));
  const tileWords = Math.ceil(keyTiles / 32);
  const groupRows = (dims.Hq / dims.Hkv) * dims.Lq;
  const words = new Uint32Array(dims.B * dims.Hkv * plan.qBlocks * tileWords);
  for (let b = 0; b < dims.B; b++) {
    for (let g = 0; g < dims.Hkv; g++) {
      for (let block = 0; block < plan.qBlocks; block++) {
        const w = ((b * dims.Hkv + g) * plan.qBlocks + block) * tileWords;
        const row0 = block * plan.blockQ;
        for (const [h, qb] of rowBlocks(m, dims, g, row0, Math.min(row0 + plan.blockQ, groupRows))) {
          for (let kb = 0; kb < m.kBlocks; kb++) {
            if (!blockOn(m, b, h, qb, kb)) continue;
            const first = Math.floor((kb * m.bk) / plan.tileKv);
            const last = Math.floor((Math.min(dims.Lk, (kb + 1) * m.bk) - 1) / plan.tileKv);
            for (let t = first; t <= last; t++) words[w + (t >>> 5)] |= 1 << (t & 31);
          }
        }
      }
    }
  }
  return { words, tileWords };
}

/** The block mask's on flags as bits, bit e = flag e of the mask ([B|1, Hq|1, qBlocks, kBlocks] row-major). */
export function blockMaskBits(m: ResolvedBlockMask): Uint32Array {
  const words = new Uint32Array(Math.ceil(m.on.length / 32));
  m.on.forEach((on, e) => {
    if (on) words[e >>> 5] |= 1 << (e & 31);
  });
  return words;
}
