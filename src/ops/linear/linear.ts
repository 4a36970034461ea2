/**
 * `attn.linear`: y = x · weightᵀ + bias, PyTorch's nn.Linear. validate → plan → encode, on the
 * GEMM kernel of shaders/linear.wgsl.
 */
import type { GpuRuntime } from '../../gpu/runtime';
import { GpuTensor } from '../../tensor';
import { encodeMatmul, operandOf, plainOutput } from './encode';
import { planMatmul, type MatmulPlan } from './plan';
import { tunedLinearTile } from './plan-tuning';
import { validateLinear, type ValidatedLinear } from './validate';

/**
 * y = x · weightᵀ + bias with x [..., K], weight [N, K] (nn.Linear layout [out, in]), bias [N];
 * returns a new tensor [..., N]. The tiling is the context's tuned one for M's class when it fits.
 * @example
 * const y = linear(runtime, x, weight, bias); // x [2, 5, 8], weight [3, 8], bias [3] → y [2, 5, 3]
 */
export function linear(runtime: GpuRuntime, x: unknown, weight: unknown, bias?: unknown): GpuTensor {
  const call = validateLinear(runtime, x, weight, bias);
  const plan = planMatmul(call, runtime.device.limits, 'x', undefined, tunedLinearTile(runtime, call.M));
  return encodeLinear(runtime, call, plan);
}

function encodeLinear(runtime: GpuRuntime, call: ValidatedLinear, plan: MatmulPlan): GpuTensor {
  const { M, N, K } = call;
  const { result, ready } = runtime.submit([call.x, call.weight, call.bias], (scope) => {
    const out = scope.output(M * N * 4, `linear output [${call.outputShape.join(', ')}]`);
    const dispatch = encodeMatmul(
      runtime,
      {
        x: operandOf(call.x),
        xStrideM: K,
        M,
        K,
        weight: operandOf(call.weight),
        N,
        bias: call.bias && operandOf(call.bias),
        out: plainOutput(out, M, N),
      },
      plan,
    );
    return { label: dispatch.pipeline.label, dispatches: [dispatch], result: out };
  });
  return new GpuTensor(runtime, result.buffer, call.outputShape, 0, true, ready);
}
