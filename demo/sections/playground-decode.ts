/**
 * The Playground's decoding op: a prompt of L − steps tokens goes into a KV cache, then each step
 * appends one token's keys and values and attends with one query over everything held (the cache's
 * views, no copy). Checked against one float64 sdpa over the whole sequence, lower-right causal.
 */
import type { GpuTensor } from '../../src/index';
import { upload } from '../core/gpu';
import { hostUniform, type Host } from '../core/rng';
import { destroyAll, refOutput, type OpSpec } from './playground-ops';

/** Rows [from, to) of the L axis of a [B, H, L, D] host tensor. */
function rows(t: Host, from: number, to: number): Host {
  const [B, H, L, D] = t.shape;
  const out = new Float32Array(B * H * (to - from) * D);
  for (let bh = 0; bh < B * H; bh++)
    out.set(t.data.subarray((bh * L + from) * D, (bh * L + to) * D), bh * (to - from) * D);
  return { data: out, shape: [B, H, to - from, D] };
}

export function decode(): OpSpec {
  return {
    id: 'decode',
    label: 'decoding through a KV cache',
    controls: ['B', 'H', 'Hkv', 'L', 'D', 'steps'],
    prepare(attn, p) {
      const steps = Math.min(p.steps, p.L - 1);
      const prompt = p.L - steps;
      const hq = hostUniform([p.B, p.H, steps, p.D], 71);
      const hk = hostUniform([p.B, p.Hkv, p.L, p.D], 72);
      const hv = hostUniform([p.B, p.Hkv, p.L, p.D], 73);
      const up = (t: Host) => upload(attn, t);
      const kPrompt = up(rows(hk, 0, prompt));
      const vPrompt = up(rows(hv, 0, prompt));
      const perStep = Array.from({ length: steps }, (_, t) => ({
        q: up(rows(hq, t, t + 1)),
        k: up(rows(hk, prompt + t, prompt + t + 1)),
        v: up(rows(hv, prompt + t, prompt + t + 1)),
      }));
      const cache = attn.kvCache({ batch: p.B, kvHeads: p.Hkv, headDim: p.D, capacity: p.L, growable: false });
      const options = { causal: true, alignment: 'lower-right' as const };
      let flops = 0;
      for (let t = 0; t < steps; t++) flops += 4 * p.B * p.H * (prompt + t + 1) * p.D;
      return {
        call: `cache.append(k, v); attn.sdpa(q, cache.keys, cache.values, { causal: true, alignment: 'lower-right' }) // × ${steps} steps after a ${prompt}-token prompt`,
        launch: () => {
          cache.reset();
          cache.append(kPrompt, vPrompt);
          const outs: Record<string, GpuTensor> = {};
          perStep.forEach((s, t) => {
            cache.append(s.k, s.v);
            outs[`step${t}`] = attn.sdpa(s.q, cache.keys, cache.values, options);
          });
          return outs;
        },
        read: async (o) => {
          const parts = await Promise.all(Object.values(o).map((t) => (t as GpuTensor).read()));
          const out = new Float32Array(p.B * p.H * steps * p.D);
          parts.forEach((part, t) => {
            for (let bh = 0; bh < p.B * p.H; bh++)
              out.set(part.subarray(bh * p.D, (bh + 1) * p.D), (bh * steps + t) * p.D);
          });
          return out;
        },
        reference: () => refOutput('sdpa', hq, hk, hv, options),
        flops,
        flopNote: 'each step: its query against every token held',
        perRun: { count: steps, unit: 'token' },
        destroy: () => {
          cache.destroy();
          destroyAll(kPrompt, vPrompt, ...perStep.flatMap((s) => [s.q, s.k, s.v]));
        },
      };
    },
  };
}
