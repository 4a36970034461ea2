/**
 * The internal GEMM encoder (shaders/linear.wgsl): one call becomes one KernelDispatch, so a layer
 * can put several projections and attention passes in one `runtime.run(label, dispatches)`.
 * Nothing here enqueues work or takes a buffer: the caller owns every buffer it names.
 */
import { checkFits } from '../../gpu/limits';
import type { GpuRuntime, KernelDispatch } from '../../gpu/runtime';
import { SHADERS } from '../../shaders';
import { GpuTensor } from '../../tensor';
import { planMatmul, type MatmulPlan } from './plan';
import { tunedLinearTile } from './plan-tuning';

/** A buffer range and where element 0 of the operand sits in it (in elements: f32, or halves when `f16`). */
export interface MatmulOperand {
  buffer: GPUBufferBinding;
  elementOffset: number;
  /** Whether the elements are f16 halves, two to a word; absent: f32. */
  f16?: boolean;
}

/**
 * Where C[m, n] goes: m = b·rowsPerBatch + l, n = head·headDim + d, and element (m, n) is written
 * at `elementOffset + b·strideB + l·strideL + head·strideH + d`. Plain [M, N]: rowsPerBatch = M,
 * headDim = N, strideL = N (strideB, strideH unused). bshd [B, L, H, D]: strideB = L·H·D,
 * strideL = H·D, strideH = D. bhsd [B, H, L, D]: strideB = H·L·D, strideL = D, strideH = L·D.
 * `f16`: written as f16 halves (rounded to nearest even), a pair of columns per word; headDim, N,
 * elementOffset and the three strides must then be even.
 */
export interface MatmulOutput extends MatmulOperand {
  rowsPerBatch: number;
  headDim: number;
  strideB: number;
  strideL: number;
  strideH: number;
}

/** A plain row-major C [M, N] output starting at element 0 of `buffer`. */
export function plainOutput(buffer: GPUBufferBinding, M: number, N: number): MatmulOutput {
  return { buffer, elementOffset: 0, rowsPerBatch: M, headDim: N, strideB: M * N, strideL: N, strideH: 0 };
}

/**
 * Rotary position embedding in the epilogue (GPT-J adjacent pairs (2i, 2i+1)), on columns
 * colBegin ≤ n < colEnd and head dims d < rotDim, at position l + positionOffset. `table` is a
 * {@link rotaryTable} of `positions` rows with the same rotDim: rowsPerBatch + positionOffset must
 * not exceed `positions`. headDim, rotDim, colBegin and colEnd must be even; rotDim ≤ headDim.
 * `halfSplit` (GPT-NeoX pairs (i, i + rotDim/2)): rotated column d reads weight row perm(d) instead
 * (perm(2i) = i, perm(2i+1) = i + rotDim/2), so those columns come out in interleaved order — use
 * it for q and k alike (q·k is unchanged), never for v.
 */
export interface MatmulRotary {
  table: MatmulOperand;
  positions: number;
  rotDim: number;
  colBegin: number;
  colEnd: number;
  positionOffset: number;
  halfSplit?: boolean;
}

/** One GEMM C[M, N] = X[M, K] · W[N, K]ᵀ (+ bias[N]): X row m at x.elementOffset + m·xStrideM. */
export interface MatmulCall {
  x: MatmulOperand;
  xStrideM: number;
  M: number;
  K: number;
  weight: MatmulOperand;
  N: number;
  bias?: MatmulOperand;
  out: MatmulOutput;
  rotary?: MatmulRotary;
}

/** A tensor as a GEMM operand (its binding, offset rounded to the device's alignment). */
export function operandOf(tensor: GpuTensor): MatmulOperand {
  const { resource, elementOffset } = tensor.binding();
  return { buffer: resource, elementOffset, f16: tensor.dtype === 'f16' };
}

/** An f16 output is written a word (two columns) at a time: every place a pair starts must be even. */
function checkHalfOutput(call: MatmulCall): void {
  const { out } = call;
  const values = [out.headDim, call.N, out.elementOffset, out.strideB, out.strideL, out.strideH];
  if (values.some((v) => v % 2 !== 0)) {
    throw new Error(
      `encodeMatmul f16 output: headDim, N, elementOffset and strides must be even (got ${values.join(', ')})`,
    );
  }
}

function checkRotary(call: MatmulCall, rotary: MatmulRotary): void {
  const { rotDim, colBegin, colEnd, positions, positionOffset } = rotary;
  const even = (v: number) => Number.isInteger(v) && v % 2 === 0;
  const problems = [
    !even(call.out.headDim) && `headDim ${call.out.headDim} is odd`,
    !(even(rotDim) && rotDim >= 2 && rotDim <= call.out.headDim) && `rotDim ${rotDim} is not even in [2, headDim]`,
    !(even(colBegin) && even(colEnd) && colBegin <= colEnd && colEnd <= call.N) &&
      `columns [${colBegin}, ${colEnd}) are not even bounds within [0, N]`,
    !(Number.isInteger(positionOffset) && positionOffset >= 0 && positionOffset + call.out.rowsPerBatch <= positions) &&
      `positions up to ${positionOffset + call.out.rowsPerBatch} pass the table's ${positions}`,
  ].filter(Boolean);
  if (problems.length) throw new Error(`encodeMatmul rotary: ${problems.join('; ')}`);
}

function uniformsOf(call: MatmulCall, plan: MatmulPlan): Record<string, number> {
  const { out, rotary } = call;
  return {
    m: call.M,
    n: call.N,
    k: call.K,
    tiles_n: plan.tilesN,
    tiles: plan.tiles,
    groups_x: plan.workgroups[0],
    x_offset: call.x.elementOffset,
    x_stride_m: call.xStrideM,
    w_offset: call.weight.elementOffset,
    bias_offset: call.bias?.elementOffset ?? 0,
    o_offset: out.elementOffset,
    rows_per_batch: out.rowsPerBatch,
    head_dim: out.headDim,
    o_stride_b: out.strideB,
    o_stride_l: out.strideL,
    o_stride_h: out.strideH,
    rot_offset: rotary?.table.elementOffset ?? 0,
    rot_positions: rotary?.positions ?? 0,
    rot_dim: rotary?.rotDim ?? 0,
    rot_col_begin: rotary?.colBegin ?? 0,
    rot_col_end: rotary?.colEnd ?? 0,
    position_offset: rotary?.positionOffset ?? 0,
  };
}

/**
 * One dispatch of `linear_matmul` for `call`; the caller submits it (with others) through
 * `runtime.run`. Without `plan`, it plans the call, preferring the context's tuned tiling for M's
 * class. Throws an AttentionError on 'x' when the grid cannot be dispatched (see planMatmul), and a
 * plain Error for sizes below 1 or inconsistent rotary settings (caller bugs).
 * The caller validates its own arguments: every binding must cover the elements it addresses
 * (x: elementOffset + (M − 1)·xStrideM + K; out: the largest index of the epilogue), and out
 * must not alias an input.
 * @example
 * const q = encodeMatmul(runtime, { x: operandOf(x), xStrideM: E, M: B * L, K: E, weight: operandOf(wq), N: H * D,
 *   out: { ...operandOf(qOut), rowsPerBatch: L, headDim: D, strideB: H * L * D, strideL: D, strideH: L * D } });
 * await runtime.run('projections', [q, k, v]);
 */
export function encodeMatmul(runtime: GpuRuntime, call: MatmulCall, plan?: MatmulPlan): KernelDispatch {
  const positive = (v: number) => Number.isInteger(v) && v >= 1;
  if (![call.M, call.N, call.K, call.out.rowsPerBatch, call.out.headDim].every(positive)) {
    throw new Error(
      `encodeMatmul: M, N, K, rowsPerBatch and headDim must be positive integers (got ${call.M}, ${call.N}, ${call.K}, ${call.out.rowsPerBatch}, ${call.out.headDim})`,
    );
  }
  if (call.rotary) checkRotary(call, call.rotary);
  if (call.out.f16) checkHalfOutput(call);
  const dims = { M: call.M, N: call.N, K: call.K };
  const chosen = plan ?? planMatmul(dims, runtime.device.limits, 'x', undefined, tunedLinearTile(runtime, call.M));
  const pipeline = runtime.pipelines.get(SHADERS.linear, 'linear_matmul', {
    TILE_M: chosen.tile.tileM,
    TILE_N: chosen.tile.tileN,
    TILE_K: chosen.tile.tileK,
    K_STRIDE: chosen.kStride,
    ROW_BLOCKS: chosen.tile.rowBlocks,
    COL_BLOCKS: chosen.tile.colBlocks,
    WORKGROUP_SIZE: chosen.workgroupSize,
    HAS_BIAS: call.bias !== undefined,
    HAS_ROTARY: call.rotary !== undefined,
    ROTARY_HALF_SPLIT: call.rotary?.halfSplit ?? false,
    X_F16: call.x.f16 === true,
    W_F16: call.weight.f16 === true,
    BIAS_F16: call.bias?.f16 === true,
    OUT_F16: call.out.f16 === true,
  });
  const buffers = {
    x: call.x.buffer,
    weight: call.weight.buffer,
    out: call.out.buffer,
    bias: call.bias?.buffer ?? { buffer: runtime.dummy },
    rot_table: call.rotary?.table.buffer ?? { buffer: runtime.dummy },
  };
  return { pipeline, uniforms: uniformsOf(call, chosen), buffers, workgroups: chosen.workgroups };
}

/**
 * The cos/sin table of rotary embedding for positions 0 … positions − 1: shape [positions,
 * rotDim / 2, 2], entry (pos, i) = (cos θ, sin θ) with θ = pos · base^(−2i / rotDim), computed in
 * float64 and rounded to f32 (WGSL's sin/cos lose accuracy at large angles). The caller destroys it.
 * @example
 * const table = rotaryTable(runtime, 4096, 64, 10000);
 * encodeMatmul(runtime, { ...call, rotary: { table: operandOf(table), positions: 4096, rotDim: 64, colBegin: 0, colEnd: 2 * H * D, positionOffset: 0 } });
 */
export function rotaryTable(runtime: GpuRuntime, positions: number, rotDim: number, base = 10000): GpuTensor {
  if (!Number.isInteger(positions) || positions < 1)
    throw new Error(`rotaryTable: positions ${positions} is not a positive integer`);
  if (!Number.isInteger(rotDim) || rotDim < 2 || rotDim % 2 !== 0)
    throw new Error(`rotaryTable: rotDim ${rotDim} is not even and ≥ 2`);
  if (!(Number.isFinite(base) && base > 0)) throw new Error(`rotaryTable: base ${base} is not finite and > 0`);
  const half = rotDim / 2;
  checkFits(runtime.device.limits, 'rotary table', positions * rotDim, positions * rotDim * 4);
  const data = new Float32Array(positions * rotDim);
  for (let i = 0; i < half; i++) {
    const frequency = base ** ((-2 * i) / rotDim);
    for (let pos = 0; pos < positions; pos++) {
      const angle = pos * frequency;
      data[2 * (pos * half + i)] = Math.cos(angle);
      data[2 * (pos * half + i) + 1] = Math.sin(angle);
    }
  }
  const buffer = runtime.pool.acquire(data.byteLength, `rotary table [${positions}, ${half}, 2]`);
  runtime.device.queue.writeBuffer(buffer, 0, data);
  return new GpuTensor(runtime, buffer, [positions, half, 2], 0, true);
}
