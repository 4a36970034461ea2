/**
 * The shape rules of a linear layer (PyTorch's nn.Linear), shared by `attn.linear` and
 * `reference.linear`. Pure: nothing here touches a device.
 */
import { AttentionError, describe } from '../errors';

/** Sizes of one GEMM: C[M, N] = X[M, K] · W[N, K]ᵀ. */
export interface MatmulDims {
  M: number;
  N: number;
  K: number;
}

/**
 * The shape rules of `linear(x, weight, bias)`, shared by the GPU op and the reference:
 * x [..., K] (rank ≥ 1), weight [N, K], bias [N]. Returns the sizes and the output shape [..., N].
 * @example
 * linearDims([2, 5, 8], [3, 8], [3]); // { M: 10, N: 3, K: 8, outputShape: [2, 5, 3] }
 */
export function linearDims(
  xShape: readonly number[],
  weightShape: readonly number[],
  biasShape?: readonly number[],
): MatmulDims & { outputShape: number[] } {
  if (xShape.length < 1)
    throw new AttentionError('x', `shape ${describe([...xShape])}`, 'a tensor of rank ≥ 1, [..., K]');
  const K = xShape[xShape.length - 1];
  const M = xShape.slice(0, -1).reduce((a, b) => a * b, 1);
  if (weightShape.length !== 2 || weightShape[1] !== K) {
    throw new AttentionError(
      'weight',
      `shape ${describe([...weightShape])}`,
      `[N, ${K}] (nn.Linear layout [out, in], with K = ${K} from x)`,
    );
  }
  const N = weightShape[0];
  if (biasShape !== undefined && (biasShape.length !== 1 || biasShape[0] !== N)) {
    throw new AttentionError('bias', `shape ${describe([...biasShape])}`, `[${N}] (N, the rows of weight)`);
  }
  return { M, N, K, outputShape: [...xShape.slice(0, -1), N] };
}
