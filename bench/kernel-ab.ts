/**
 * `npm run bench:ab -- OLD.wgsl [NEW.wgsl …]`: an interleaved A/B of flash-kernel sources, the way
 * each lever in README's "The flash kernel's levers" was measured. The first file is the baseline
 * ('tree' = shaders/sdpa.wgsl as it is); every other runs in its place through the same plan,
 * prelude and buffers, the order alternating each round. A source without the PV_ROWS override (the
 * kernel before it) gets the workgroup size it expects. Reports the median process CPU time (on
 * SwiftShader the "GPU" is this process's threads, so CPU time is robust to other processes' load)
 * and the median of the per-round speed-ups against the first, with their range; outputs are
 * compared with the first's. Overrides an older source lacks are not passed to it. A variant
 * `FILE:NAME=VALUE,…` runs with those overrides in place of the plan's (`tree:QK_PAIRS=false`), so
 * plan-level choices are A/B'd on one source (the forced values must agree with the workgroup size).
 * Env: SHAPE=B,H,L,D (default 1,8,512,64; L keys), LQ (queries, default L: 1 is a decode step, with
 * alignment lower-right), HKV (kv heads, default H), CAUSAL=1, ROUNDS (default 7).
 */
import { readFileSync } from 'node:fs';
import { createAttention, type AttentionContext } from '../src/index';
import sdpaSource from '../shaders/sdpa.wgsl?raw';
import { nodeGpu } from '../test/helpers/node-gpu';
import type { Overrides } from '../src/gpu/pipeline-cache';

interface Variant {
  name: string;
  kernel: string;
  /** Overrides that replace the plan's (`tree:QK_PAIRS=false`): plan-level choices A/B'd on one source. */
  forced: Overrides;
}

/** `FILE` or `FILE:NAME=VALUE,…` (FILE a .wgsl path or 'tree'; VALUE a number, true or false). */
function parseVariant(spec: string): Variant {
  const [file, list] = spec.split(':');
  const forced: Overrides = {};
  for (const pair of list ? list.split(',') : []) {
    const [name, value] = pair.split('=');
    forced[name] = value === 'true' ? true : value === 'false' ? false : Number(value);
  }
  return { name: spec, kernel: file === 'tree' ? sdpaSource : readFileSync(file, 'utf8'), forced };
}

const PARAMS_STRUCT = /struct SdpaParams \{[^}]*\}/;

/**
 * The variant with the tree's SdpaParams: the host fills the tree's uniforms and refuses members a
 * struct lacks, so an older kernel (whose struct lacks members added since) gets the tree's struct,
 * whose new members it leaves unread.
 */
function withTreeParams(kernel: string): string {
  const tree = PARAMS_STRUCT.exec(sdpaSource)![0];
  return kernel.replace(PARAMS_STRUCT, () => tree);
}

/** Routes the context's sdpa pipelines to `current().kernel`, each variant its own module id. */
function useVariants(attn: AttentionContext, current: () => Variant): void {
  const pipelines = attn.runtime.pipelines;
  const get = pipelines.get.bind(pipelines);
  pipelines.get = (shader, entry, overrides) => {
    if (!shader.id.startsWith('sdpa.wgsl')) return get(shader, entry, overrides);
    const v = current();
    const o: Overrides = { ...overrides, ...v.forced };
    // A kernel before PV_COLS takes the same invocations as 16 rows × 1 column vec4 (rows × cols);
    // one before PV_ROWS, 4 rows each.
    if (!v.kernel.includes('override PV_COLS') && 'PV_COLS' in o) {
      o.PV_ROWS = Number(o.PV_ROWS) * Number(o.PV_COLS);
    }
    if (!v.kernel.includes('override PV_ROWS') && 'PV_ROWS' in o) {
      o.WORKGROUP_SIZE = (Number(o.WORKGROUP_SIZE) * Number(o.PV_ROWS)) / 4;
    }
    // An older kernel lacks overrides added since: it runs without them (its own defaults).
    for (const name of Object.keys(o)) if (!v.kernel.includes(`override ${name}:`)) delete o[name];
    const kernel = withTreeParams(v.kernel);
    return get({ id: `${shader.id}#${v.name}`, source: shader.source.replace(sdpaSource, kernel) }, entry, o);
  };
}

export async function main(args: string[]): Promise<number> {
  if (args.length < 2) throw new Error('usage: npm run bench:ab -- BASELINE.wgsl|tree[:NAME=VALUE,…] OTHER …');
  const variants = args.map(parseVariant);
  const [B, H, L, D] = (process.env.SHAPE ?? '1,8,512,64').split(',').map(Number);
  const causal = process.env.CAUSAL === '1';
  const rounds = Number(process.env.ROUNDS ?? 7);
  const attn = await createAttention({ gpu: await nodeGpu() });
  let current = variants[0];
  useVariants(attn, () => current);
  const Lq = Number(process.env.LQ ?? L);
  const Hkv = Number(process.env.HKV ?? H);
  const data = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed));
  const q = attn.tensor(data(B * H * Lq * D, 0), [B, H, Lq, D]);
  const k = attn.tensor(data(B * Hkv * L * D, 1), [B, Hkv, L, D]);
  const v = attn.tensor(data(B * Hkv * L * D, 2), [B, Hkv, L, D]);
  const time = async (variant: Variant) => {
    current = variant;
    const c0 = process.cpuUsage();
    const o = attn.sdpa(q, k, v, { causal, alignment: 'lower-right' });
    await attn.device.queue.onSubmittedWorkDone();
    const c = process.cpuUsage(c0);
    const out = await o.read();
    o.destroy();
    return { ms: (c.user + c.system) / 1000, out };
  };
  const outputs: Float32Array[] = [];
  for (const variant of variants) outputs.push((await time(variant)).out); // compiles each, and keeps its output
  const ms: number[][] = variants.map(() => []);
  for (let r = 0; r < rounds; r++) for (let i = 0; i < variants.length; i++) ms[i].push((await time(variants[i])).ms);
  const med = (x: number[]) => [...x].sort((a, b) => a - b)[x.length >> 1];
  console.log(
    `B=${B} Hq=${H} Hkv=${Hkv} Lq=${Lq} Lk=${L} D=${D}${causal ? ' causal' : ''}, ${rounds} rounds, process CPU time`,
  );
  for (let i = 0; i < variants.length; i++) {
    const ratios = ms[i].map((t, r) => ms[0][r] / t);
    const diff = outputs[i].reduce((m, x, j) => Math.max(m, Math.abs(x - outputs[0][j])), 0);
    console.log(
      `${variants[i].name}: ${med(ms[i]).toFixed(0)} ms, speed-up ${med(ratios).toFixed(3)} ` +
        `[${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}], max |Δ output| ${diff.toExponential(1)}`,
    );
  }
  attn.destroy();
  return 0;
}
