/**
 * A linear layer on the CPU in float64, y = x · weightᵀ + bias (PyTorch's nn.Linear): the oracle of
 * `attn.linear` and of the GEMM kernel's epilogues.
 */
import { linearDims } from '../contract/linear';
import type { HostResult, HostTensor } from '../contract/types';
import { checkHost } from './host';

/**
 * y = x · weightᵀ + bias in float64, with x [..., K] (rank ≥ 1), weight [N, K] (nn.Linear layout
 * [out, in]) and bias [N]; returns [..., N]. Throws {@link AttentionError} naming the bad argument.
 * @example
 * const x = { data: [1, 2], shape: [1, 2] };
 * const w = { data: [1, 0, 3, 4], shape: [2, 2] };
 * linear(x, w, { data: [10, 20], shape: [2] }).data; // Float64Array [11, 31]
 */
export function linear(x: HostTensor, weight: HostTensor, bias?: HostTensor): HostResult {
  const xt = checkHost('x', x, true);
  const wt = checkHost('weight', weight, true);
  const bt = bias === undefined ? undefined : checkHost('bias', bias, true);
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
