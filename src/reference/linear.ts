/**
 * A linear layer on the CPU in float64, y = x · weightᵀ + bias (PyTorch's nn.Linear): the oracle of
 * `attn.linear` and of the GEMM kernel's epilogues.
 */
import { AttentionError, describe } from '../errors';
import { linearDims } from '../ops/matmul-plan';
import type { HostResult, HostTensor } from '../types';

function checkHost(argument: string, t: unknown): HostTensor {
  const ok = typeof t === 'object' && t !== null && 'data' in t && 'shape' in t;
  if (!ok) throw new AttentionError(argument, describe(t), 'a host tensor { data, shape }');
  const { data, shape } = t as HostTensor;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new AttentionError(argument, `shape ${describe(shape)}`, 'a list of positive integers');
  }
  if (data instanceof Uint8Array)
    throw new AttentionError(
      `${argument}.data`,
      'a Uint8Array (boolean data)',
      'float data (Float32Array, Float64Array or number[])',
    );
  const want = shape.reduce((a: number, b: number) => a * b, 1);
  if (data.length !== want)
    throw new AttentionError(
      `${argument}.data`,
      `${data.length} elements`,
      `${want} elements for shape ${describe(shape)}`,
    );
  return t as HostTensor;
}

/**
 * y = x · weightᵀ + bias in float64, with x [..., K] (rank ≥ 1), weight [N, K] (nn.Linear layout
 * [out, in]) and bias [N]; returns [..., N]. Throws {@link AttentionError} naming the bad argument.
 * @example
 * const x = { data: [1, 2], shape: [1, 2] };
 * const w = { data: [1, 0, 3, 4], shape: [2, 2] };
 * linear(x, w, { data: [10, 20], shape: [2] }).data; // Float64Array [11, 31]
 */
export function linear(x: HostTensor, weight: HostTensor, bias?: HostTensor): HostResult {
  const xt = checkHost('x', x);
  const wt = checkHost('weight', weight);
  const bt = bias === undefined ? undefined : checkHost('bias', bias);
  const { M, N, K, outputShape } = linearDims(xt.shape, wt.shape, bt?.shape);
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let sum = bt ? Number(bt.data[n]) : 0;
      for (let k = 0; k < K; k++) sum += Number(xt.data[m * K + k]) * Number(wt.data[n * K + k]);
      out[m * N + n] = sum;
    }
  }
  return { data: out, shape: outputShape };
}
