/**
 * Validation of `attn.linear`: the contract's shape rules (nn.Linear) plus what only the GPU path
 * has (tensors of this context, device buffer limits).
 */
import { linearDims, type MatmulDims } from '../../contract/linear';
import { checkAllFit } from '../../gpu/limits';
import type { GpuRuntime } from '../../gpu/runtime';
import { checkTensor, F32_OR_F16, type GpuTensor } from '../../tensor';

/** Everything encode needs, checked: nothing past this point can throw an AttentionError. */
export interface ValidatedLinear extends MatmulDims {
  x: GpuTensor;
  weight: GpuTensor;
  bias?: GpuTensor;
  outputShape: number[];
}

/**
 * Checks x [..., K], weight [N, K] and bias [N] (optional).
 * @example
 * validateLinear(runtime, x, weight, bias).outputShape; // [..., N]
 */
export function validateLinear(runtime: GpuRuntime, x: unknown, weight: unknown, bias: unknown): ValidatedLinear {
  runtime.assertAlive();
  // Each input may hold f16 storage (the GEMM widens it to f32); the output is f32.
  const xT = checkTensor(runtime, 'x', x, false, F32_OR_F16);
  const wT = checkTensor(runtime, 'weight', weight, false, F32_OR_F16);
  const bT = bias === undefined ? undefined : checkTensor(runtime, 'bias', bias, false, F32_OR_F16);
  const dims = linearDims(xT.shape, wT.shape, bT?.shape);
  checkAllFit(runtime.device.limits, { x: xT, weight: wT, bias: bT }, dims.M * dims.N);
  return { x: xT, weight: wT, bias: bT, ...dims };
}
