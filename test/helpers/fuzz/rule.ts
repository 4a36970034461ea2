/**
 * An independent float64 statement of the attention rule the project is moving to (docs/semantics.md
 * §2–§6 and the §3 rule for non-finite inputs), used to judge the reference itself:
 *
 * - a key removed by causal, the window (with dilation and global tokens) or a boolean 0 is never read;
 * - every other key's logit is PyTorch's: scale·q·k, softcap, + the float mask value whatever it is;
 * - a logit of −∞ gets weight 0 and its value row is not read;
 * - a NaN or +∞ logit makes the row NaN (output and lse); NaN/∞ in v of a key whose logit is not −∞
 *   reach the output;
 * - a row whose every logit is −∞ (or that has no key) outputs zeros and lse −∞.
 *
 * Written from the document, not from src/reference, so the two can disagree.
 */
import type { SdpaHostCase } from './sdpa-spec';

export interface RuleOutputs {
  output: Float64Array;
  /** NaN in a row a NaN or +∞ logit makes NaN. */
  lse: Float64Array;
  /** [B, Hq, Lq]: the largest |logit| of the row's finite logits (0 when there is none). */
  logitMagnitude: Float64Array;
}

function windowAllows(c: SdpaHostCase, p: number, j: number, globals: Set<number>): boolean {
  if (globals.has(j) || globals.has(p)) return true;
  const left = c.options.window?.left ?? -1;
  const right = c.options.window?.right ?? -1;
  const d = c.options.dilation ?? 1;
  const delta = j - p;
  return (left < 0 || delta >= -left * d) && (right < 0 || delta <= right * d) && delta % d === 0;
}

/** The rule's output (in the call's layout) and lse [B, Hq, Lq]. */
export function ruleSdpa(c: SdpaHostCase): RuleOutputs {
  const o = c.options;
  const bshd = o.layout === 'bshd';
  const [B, Hq, Hkv] = [c.q.shape[0], c.Hq, bshd ? c.k.shape[2] : c.k.shape[1]];
  const [Lq, Lk, D, Dv] = [
    bshd ? c.q.shape[1] : c.q.shape[2],
    bshd ? c.k.shape[1] : c.k.shape[2],
    c.q.shape[3],
    c.v.shape[3],
  ];
  const at = (b: number, h: number, l: number, H: number, L: number, d: number) =>
    bshd ? ((b * L + l) * H + h) * d : ((b * H + h) * L + l) * d;
  const scale = o.scale ?? 1 / Math.sqrt(D);
  const offset = o.alignment === 'lower-right' ? Lk - Lq : 0;
  const globals = new Set(o.globalTokens ?? []);
  const m = c.mask;
  const mShape = m ? [...Array(4 - m.shape.length).fill(1), ...m.shape] : [];
  const maskAt = (b: number, h: number, i: number, j: number) => {
    const idx = [b, h, i, j].map((x, a) => (mShape[a] === 1 ? 0 : x));
    return m!.data[((idx[0] * mShape[1] + idx[1]) * mShape[2] + idx[2]) * mShape[3] + idx[3]];
  };
  const output = new Float64Array(B * Hq * Lq * Dv);
  const lse = new Float64Array(B * Hq * Lq);
  const logitMagnitude = new Float64Array(B * Hq * Lq);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Hq; h++)
      for (let i = 0; i < Lq; i++) {
        const g = Math.floor(h / (Hq / Hkv));
        const p = i + offset;
        const keys: number[] = [];
        const logits: number[] = [];
        for (let j = 0; j < Lk; j++) {
          if (o.causal && j > p) continue;
          if (!windowAllows(c, p, j, globals)) continue;
          if (m && m.data instanceof Uint8Array && !maskAt(b, h, i, j)) continue;
          let s = 0;
          for (let d = 0; d < D; d++) s += c.q.data[at(b, h, i, Hq, Lq, D) + d] * c.k.data[at(b, g, j, Hkv, Lk, D) + d];
          s *= scale;
          if (o.softcap) s = o.softcap * Math.tanh(s / o.softcap);
          if (m && !(m.data instanceof Uint8Array)) s += maskAt(b, h, i, j);
          keys.push(j);
          logits.push(s);
        }
        const row = (b * Hq + h) * Lq + i;
        const out = at(b, h, i, Hq, Lq, Dv);
        logitMagnitude[row] = Math.max(0, ...logits.filter(Number.isFinite).map(Math.abs));
        if (logits.some((s) => Number.isNaN(s) || s === Infinity)) {
          output.fill(NaN, out, out + Dv);
          lse[row] = NaN;
          continue;
        }
        const max = Math.max(-Infinity, ...logits);
        if (max === -Infinity) {
          lse[row] = -Infinity;
          continue;
        }
        let sum = 0;
        for (const s of logits) sum += Math.exp(s - max);
        lse[row] = max + Math.log(sum);
        keys.forEach((j, n) => {
          if (logits[n] === -Infinity) return;
          const weight = Math.exp(logits[n] - max) / sum;
          const vAt = at(b, g, j, Hkv, Lk, Dv);
          for (let d = 0; d < Dv; d++) output[out + d] += weight * c.v.data[vAt + d];
        });
      }
  return { output, lse, logitMagnitude };
}
