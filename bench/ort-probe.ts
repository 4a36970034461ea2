import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { nodeGpu } from '../test/helpers/node-gpu';
import { mhaModel } from './onnx-model';
import { reference } from '../src/index';

export async function main(): Promise<number> {
  const gpu = await nodeGpu();
  (globalThis as any).navigator = { gpu };
  const ort = await import('onnxruntime-web/webgpu');
  const require = createRequire(import.meta.url);
  const wasmPath = require.resolve('onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmBinary = readFileSync(wasmPath);
  ort.env.logLevel = 'warning';
  const [B, H, L, D] = [1, 2, 33, 64];
  for (const causal of [false, true]) {
    const bytes = mhaModel({ batch: B, heads: H, qLen: L, kvLen: L, headDim: D, causal });
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'] });
    console.log('session', performance.now() - t0);
    const n = B * L * H * D;
    const rnd = () => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
    const [q, k, v] = [rnd(), rnd(), rnd()];
    const dims = [B, L, H * D];
    const out = await session.run({ query: new ort.Tensor('float32', q, dims), key: new ort.Tensor('float32', k, dims), value: new ort.Tensor('float32', v, dims) });
    const got = out.output.data as Float32Array;
    const shape = [B, L, H, D];
    const ref = reference.sdpa({ data: q, shape }, { data: k, shape }, { data: v, shape }, { causal, layout: 'bshd' });
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(got[i] - ref.data[i]) - 1e-4 * Math.abs(ref.data[i]));
    console.log('causal', causal, 'worst', worst);
    await session.release();
  }
  return 0;
}
