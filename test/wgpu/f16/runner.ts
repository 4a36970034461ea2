/**
 * Deno side of the f16-arithmetic check (test/wgpu/f16-arithmetic.test.ts), run as plain TypeScript:
 *   deno run --unstable-webgpu --allow-read=<root> test/wgpu/f16/runner.ts <library bundle> <cases as JSON>
 * on Mesa's lavapipe, whose wgpu adapter offers `shader-f16`. The cases come as JSON (argument 2).
 * For each: f16 q, k, v (rounded on the host, so the reference sees the same values), attn.sdpa with
 * f16 arithmetic on (the default where the device has the feature) and off, and the float64
 * reference. Prints one JSON line per result, { name, arithmetic, got, want }, after { environment };
 * the test compares. Deno runs this file as it is: it imports nothing at run time.
 */
import type { F16Case } from './cases';

type Lib = typeof import('../../../src/index');
interface DenoApi {
  args: string[];
  exit(code: number): never;
}
const deno = (globalThis as unknown as { Deno: DenoApi }).Deno;

/** A repeatable uniform(−amp, amp) sequence (a linear congruential generator). */
function uniform(length: number, seed: number, amp: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return amp * ((s / 2147483648) * 2 - 1);
  });
}

async function runCase(lib: Lib, attn: Awaited<ReturnType<Lib['createAttention']>>, c: F16Case, arithmetic: boolean) {
  const shape = (L: number, H: number) => (c.bshd ? [c.B, L, H, c.D] : [c.B, H, L, c.D]);
  const host = (L: number, H: number, seed: number, amp: number) => {
    const s = shape(L, H);
    return {
      data: uniform(
        s.reduce((a, b) => a * b, 1),
        seed,
        amp,
      ).map(lib.roundF16),
      shape: s,
    };
  };
  const q = host(c.Lq, c.Hq, 1, c.qkAmp);
  const k = host(c.Lk, c.Hkv, 2, c.qkAmp);
  const v = host(c.Lk, c.Hkv, 3, c.vAmp);
  const options = { causal: c.causal, layout: c.bshd ? ('bshd' as const) : ('bhsd' as const) };
  const t = (h: typeof q) => attn.tensor(h.data, h.shape, { dtype: 'f16' });
  const out = attn.sdpa(t(q), t(k), t(v), options);
  const got = await out.read();
  out.destroy();
  const want = lib.reference.sdpa(q, k, v, options).data;
  return { name: c.name, arithmetic, got: [...got], want: [...want] };
}

async function main(): Promise<void> {
  const lib = (await import(new URL(`file://${deno.args[0]}`).href)) as Lib;
  const cases = JSON.parse(deno.args[1]) as F16Case[];
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  console.log(JSON.stringify({ environment: adapter.info.description, f16: adapter.features.has('shader-f16') }));
  for (const arithmetic of [true, false]) {
    const attn = await lib.createAttention({ f16Arithmetic: arithmetic });
    for (const c of cases) console.log(JSON.stringify(await runCase(lib, attn, c, arithmetic)));
    attn.destroy();
  }
}

try {
  await main();
} catch (e) {
  console.log(JSON.stringify({ fatal: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) }));
  deno.exit(1);
}
deno.exit(0);
