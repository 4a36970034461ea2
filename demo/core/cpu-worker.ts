/**
 * The float64 reference in a worker, so that a large CPU run never freezes the page. Each message
 * names a `reference.*` function and its arguments (host tensors are plain objects with typed arrays);
 * the layer and graph calls, which need objects made in this realm, have their own recipes.
 */
import { reference } from '../../src/index';
import type { CpuCall, CpuReply } from './cpu';

type AnyFn = (...args: unknown[]) => unknown;
const ref = reference as unknown as Record<string, AnyFn | undefined>;

function fn(name: string): AnyFn {
  const f = ref[name];
  if (typeof f !== 'function') throw new Error(`reference.${name} is not in this build of the library`);
  return f;
}

function run(call: CpuCall): unknown {
  switch (call.kind) {
    case 'mha': {
      const layer = fn('multiHeadAttention')(call.config) as { forward(x: unknown, o?: unknown): unknown };
      return layer.forward(call.x, call.options);
    }
    case 'mhaStack': {
      // A stack of self-attention layers with residuals: x ← x + layer(x), weights per head kept.
      let x = call.x;
      const weights: unknown[] = [];
      for (const config of call.configs) {
        const layer = fn('multiHeadAttention')(config) as {
          forward(x: unknown, o?: unknown): { output: { data: Float64Array }; weights: unknown };
        };
        const r = layer.forward(x, { needWeights: true, averageHeads: false });
        weights.push(r.weights);
        const next = new Float64Array(x.data.length);
        for (let i = 0; i < next.length; i++) next[i] = x.data[i] + r.output.data[i];
        x = { data: next, shape: x.shape };
      }
      return { output: x, weights };
    }
    case 'graphAttention': {
      const g = fn('graph')(call.edgeIndex, call.numNodes);
      return fn('graphAttention')(call.x, g, call.options);
    }
    case 'call':
      return fn(call.fn)(...call.args);
  }
}

self.onmessage = (ev: MessageEvent<{ id: number; call: CpuCall }>) => {
  const { id, call } = ev.data;
  const t0 = performance.now();
  let reply: CpuReply;
  try {
    const result = run(call);
    reply = { id, ok: true, result, ms: performance.now() - t0 };
  } catch (e) {
    reply = { id, ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
  (self as unknown as Worker).postMessage(reply);
};
