/**
 * `npm run bench:ort-prefill [-- 0,1]`: attn.sdpa against onnxruntime-web's WebGPU
 * MultiHeadAttention (its workgroup-memory FlashAttention: bench/ort.ts hides subgroups from it) on
 * the prefill shapes of issue 13, B = 1, D = 64, the two interleaved on one Dawn instance. Reports
 * wall and process CPU time (on SwiftShader both kernels run on this process's threads: CPU time is
 * robust to other processes' load) as medians, GFLOP/s with the dense count 4·B·H·L²·D (causal too,
 * as the issue's table), and flash vs ORT = ORT time ÷ flash time; the outputs of the two are
 * compared first. Arguments: the indices of SHAPES to run (default all). Env ROUNDS (default 2).
 */
import { createAttention } from '../src/index';
import { nodeGpu } from '../test/helpers/node-gpu';
import { OrtSessions, OrtWebGpu } from './ort';

const SHAPES = [
  { H: 12, L: 1024, causal: false },
  { H: 8, L: 1024, causal: true },
  { H: 4, L: 4096, causal: false },
  { H: 4, L: 4096, causal: true },
  { H: 1, L: 16384, causal: true },
];
const D = 64;

interface Timing {
  cpu: number;
  wall: number;
}

async function measure(f: () => Promise<unknown>): Promise<Timing> {
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  await f();
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / 1000, wall: performance.now() - w0 };
}

const median = (x: number[]) => [...x].sort((a, b) => a - b)[(x.length - 1) >> 1];

export async function main(args: string[]): Promise<number> {
  const gpu = await nodeGpu();
  const attn = await createAttention({ gpu });
  const ortWeb = await OrtWebGpu.load(gpu);
  const rounds = Number(process.env.ROUNDS ?? 2);
  const picked = (args[0] ?? SHAPES.map((_, i) => i).join(',')).split(',').map(Number);
  console.log(
    '| shape B×H×L×L×D | flash ms (CPU ms) | flash GFLOP/s | ORT ms (CPU ms) | ORT GFLOP/s | flash vs ORT, wall | CPU |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const s of picked.map((i) => SHAPES[i])) {
    const n = s.L * s.H * D;
    const [q, k, v] = [0, 1, 2].map((seed) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed)));
    const shape = [1, s.L, s.H, D];
    const [tq, tk, tv] = [q, k, v].map((x) => attn.tensor(x, shape));
    const ort = (await new OrtSessions(ortWeb, s.H, D).session(s.causal)).bind({ length: s.L, q, k, v });
    const flash = () => attn.sdpa(tq, tk, tv, { causal: s.causal, layout: 'bshd' });
    const flashOut = await flash().read(); // warm-up (compiles) and the outputs compared
    const ortOut = await ort.output();
    const diff = flashOut.reduce((m, x, i) => Math.max(m, Math.abs(x - ortOut[i])), 0);
    if (!(diff < 1e-3)) throw new Error(`flash and ORT disagree by ${diff}`);
    const f: Timing[] = [];
    const o: Timing[] = [];
    for (let r = 0; r < rounds; r++) {
      f.push(
        await measure(async () => {
          const out = flash();
          await attn.device.queue.onSubmittedWorkDone();
          out.destroy();
        }),
      );
      o.push(await measure(() => ort.run()));
    }
    const [fw, fc, ow, oc] = [f.map((t) => t.wall), f.map((t) => t.cpu), o.map((t) => t.wall), o.map((t) => t.cpu)].map(
      median,
    );
    const gflops = (ms: number) => ((4 * s.H * s.L * s.L * D) / ms / 1e6).toFixed(2);
    const name = `1×${s.H}×${s.L}×${s.L}×${D}${s.causal ? ' causal' : ''}`;
    console.log(
      `| ${name} | ${fw.toFixed(0)} (${fc.toFixed(0)}) | ${gflops(fw)} | ${ow.toFixed(0)} (${oc.toFixed(0)}) | ${gflops(ow)} | ${(ow / fw).toFixed(2)}× | ${(oc / fc).toFixed(2)}× |`,
    );
    ort.release();
    [tq, tk, tv].forEach((t) => t.destroy());
  }
  attn.destroy();
  return 0;
}
