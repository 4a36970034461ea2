/**
 * Zachary's karate club (W. W. Zachary, "An information flow model for conflict and fission in small
 * groups", Journal of Anthropological Research 33(4), 1977): 34 members, 78 friendships, as NetworkX's
 * `karate_club_graph()` lists them (0-based; node 0 is the instructor, "Mr. Hi", node 33 the club's
 * administrator). Also the drawing's layout and the GAT's fixed random inputs. Pure (no DOM).
 */
import { generator, hostNormal, type Host } from '../core/rng';

export const NODES = 34;

// prettier-ignore
export const EDGES: Array<[number, number]> = [
  [0, 1], [0, 2], [0, 3], [0, 4], [0, 5], [0, 6], [0, 7], [0, 8], [0, 10], [0, 11], [0, 12], [0, 13], [0, 17],
  [0, 19], [0, 21], [0, 31], [1, 2], [1, 3], [1, 7], [1, 13], [1, 17], [1, 19], [1, 21], [1, 30], [2, 3], [2, 7],
  [2, 8], [2, 9], [2, 13], [2, 27], [2, 28], [2, 32], [3, 7], [3, 12], [3, 13], [4, 6], [4, 10], [5, 6], [5, 10],
  [5, 16], [6, 16], [8, 30], [8, 32], [8, 33], [9, 33], [13, 33], [14, 32], [14, 33], [15, 32], [15, 33], [18, 32],
  [18, 33], [19, 33], [20, 32], [20, 33], [22, 32], [22, 33], [23, 25], [23, 27], [23, 29], [23, 32], [23, 33],
  [24, 25], [24, 27], [24, 31], [25, 31], [26, 29], [26, 33], [27, 33], [28, 31], [28, 33], [29, 32], [29, 33],
  [30, 32], [30, 33], [31, 32], [31, 33], [32, 33],
];

/** The members who followed Mr. Hi after the split (NetworkX's `club` attribute); the rest followed the officer. */
export const MR_HI = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 16, 17, 19, 21]);

/** PyG's edge_index [2, E]: each friendship both ways (row 0 sources, row 1 targets). */
export function edgeIndex(): { data: Int32Array; shape: number[] } {
  const E = EDGES.length * 2;
  const data = new Int32Array(2 * E);
  const src = new Int32Array(E);
  const dst = new Int32Array(E);
  for (let e = 0; e < EDGES.length; e++) {
    const [a, b] = EDGES[e];
    [src[2 * e], dst[2 * e], src[2 * e + 1], dst[2 * e + 1]] = [a, b, b, a];
  }
  data.set(src, 0);
  data.set(dst, E);
  return { data, shape: [2, E] };
}

export const IN_FEATURES = 8;
export const OUT_FEATURES = 4;

/** Node features [34, 8] (seeded noise, and the degree in column 0) and GAT weights for `heads` heads. */
export function gatInputs(heads: number): { x: Host; weight: Host; attSrc: Host; attDst: Host } {
  const x = hostNormal([NODES, IN_FEATURES], 401);
  for (const [a, b] of EDGES) {
    x.data[a * IN_FEATURES] += 0.25;
    x.data[b * IN_FEATURES] += 0.25;
  }
  return {
    x,
    weight: hostNormal([heads * OUT_FEATURES, IN_FEATURES], 402, 1 / Math.sqrt(IN_FEATURES)),
    attSrc: hostNormal([heads, OUT_FEATURES], 403, 1.5),
    attDst: hostNormal([heads, OUT_FEATURES], 404, 1.5),
  };
}

/** A force-directed layout (Fruchterman–Reingold, seeded, fixed steps): positions in [0, 1]². */
export function layout(): Array<[number, number]> {
  const next = generator(405);
  const pos = Array.from({ length: NODES }, () => [next(), next()] as [number, number]);
  const k = 1.3 * Math.sqrt(1 / NODES);
  for (let step = 0; step < 300; step++) {
    const temp = 0.1 * (1 - step / 300) + 0.002;
    const move = pos.map(() => [0, 0]);
    for (let i = 0; i < NODES; i++) {
      for (let j = 0; j < NODES; j++) {
        if (i === j) continue;
        const dx = pos[i][0] - pos[j][0];
        const dy = pos[i][1] - pos[j][1];
        const d = Math.max(1e-3, Math.hypot(dx, dy));
        move[i][0] += ((dx / d) * k * k) / d;
        move[i][1] += ((dy / d) * k * k) / d;
      }
    }
    for (const [a, b] of EDGES) {
      const dx = pos[a][0] - pos[b][0];
      const dy = pos[a][1] - pos[b][1];
      const d = Math.max(1e-3, Math.hypot(dx, dy));
      const f = (d * d) / k;
      move[a][0] -= (dx / d) * f;
      move[a][1] -= (dy / d) * f;
      move[b][0] += (dx / d) * f;
      move[b][1] += (dy / d) * f;
    }
    for (let i = 0; i < NODES; i++) {
      const len = Math.max(1e-9, Math.hypot(move[i][0], move[i][1]));
      pos[i][0] += (move[i][0] / len) * Math.min(len, temp);
      pos[i][1] += (move[i][1] / len) * Math.min(len, temp);
    }
  }
  // Push apart nodes drawn on top of each other (hubs pulled together by their shared friends).
  const minGap = 0.07;
  for (let step = 0; step < 60; step++) {
    for (let i = 0; i < NODES; i++) {
      for (let j = i + 1; j < NODES; j++) {
        const dx = pos[i][0] - pos[j][0];
        const dy = pos[i][1] - pos[j][1];
        const d = Math.max(1e-6, Math.hypot(dx, dy));
        if (d >= minGap) continue;
        const push = (minGap - d) / 2;
        pos[i][0] += (dx / d) * push;
        pos[i][1] += (dy / d) * push;
        pos[j][0] -= (dx / d) * push;
        pos[j][1] -= (dy / d) * push;
      }
    }
  }
  const xs = pos.map((p) => p[0]);
  const ys = pos.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  return pos.map(([x, y]) => [(x - x0) / (x1 - x0 || 1), (y - y0) / (y1 - y0 || 1)]);
}
