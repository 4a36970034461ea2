/** Runs a case of test/cases.ts on a context (flash or naive) and on the reference. */
import type { AttentionContext, GpuMask, GpuTensor, ReferenceSdpaOptions } from '../../src/index';
import { reference } from '../../src/index';
import { caseData, caseOptions, type SdpaCase } from '../cases';

export interface CaseOutputs {
  output: Float32Array;
  lse?: Float32Array;
  weights?: Float32Array;
}
export interface CaseExpected {
  output: Float64Array;
  lse?: Float64Array;
  weights?: Float64Array;
}

function upload(attn: AttentionContext, c: SdpaCase) {
  const d = caseData(c);
  const q = attn.tensor(d.q.data as Float32Array, d.q.shape, { dtype: d.dtypes.q });
  const k = attn.tensor(d.k.data as Float32Array, d.k.shape, { dtype: d.dtypes.k });
  const v = attn.tensor(d.v.data as Float32Array, d.v.shape, { dtype: d.dtypes.v });
  let mask: GpuTensor | GpuMask | undefined;
  if (d.mask)
    mask =
      d.mask.data instanceof Uint8Array
        ? attn.mask(d.mask.data, d.mask.shape)
        : attn.tensor(d.mask.data as Float32Array, d.mask.shape, { dtype: d.dtypes.mask });
  return { q, k, v, mask, tensors: [q, k, v, ...(mask ? [mask] : [])] };
}

/** The case through `attn.sdpa` (flash), with the log-sum-exp when the case asks for it. */
export async function runFlash(attn: AttentionContext, c: SdpaCase): Promise<CaseOutputs> {
  const { q, k, v, mask, tensors } = upload(attn, c);
  try {
    const result = attn.sdpa(q, k, v, { ...caseOptions(c), mask, returnLse: c.returnLse ?? false });
    if (result instanceof Object && 'lse' in result) {
      const out = { output: await result.output.read(), lse: await result.lse.read() };
      result.output.destroy();
      result.lse.destroy();
      return out;
    }
    const output = await (result as GpuTensor).read();
    (result as GpuTensor).destroy();
    return { output };
  } finally {
    tensors.forEach((t) => t.destroy());
  }
}

/** Whether a case has a log-sum-exp (sigmoid attention has none, and refuses returnLse). */
export const hasLse = (c: SdpaCase): boolean => c.normalization !== 'sigmoid';

/** The case through `attn.sdpaNaive`, with weights and log-sum-exp (empty without one). */
export async function runNaive(attn: AttentionContext, c: SdpaCase): Promise<Required<CaseOutputs>> {
  const { q, k, v, mask, tensors } = upload(attn, c);
  try {
    const returnLse = hasLse(c);
    const r = attn.sdpaNaive(q, k, v, { ...caseOptions(c), mask, returnWeights: true, returnLse });
    const lse = r.lse ? await r.lse.read() : new Float32Array(0);
    const out = { output: await r.output.read(), lse, weights: await r.weights!.read() };
    [r.output, r.lse, r.weights!].forEach((t) => t?.destroy());
    return out;
  } finally {
    tensors.forEach((t) => t.destroy());
  }
}

/** The float64 reference for a case, with lse and weights. */
export function expectedFor(c: SdpaCase): Required<CaseExpected> {
  const d = caseData(c);
  const options = { ...caseOptions(c), mask: d.mask, returnLse: hasLse(c), returnWeights: true };
  const r = reference.sdpa(d.q, d.k, d.v, options as ReferenceSdpaOptions & { returnWeights: true });
  return { output: r.output.data, lse: r.lse?.data ?? new Float64Array(0), weights: r.weights!.data };
}
