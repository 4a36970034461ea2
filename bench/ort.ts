/**
 * onnxruntime-web's WebGPU attention, side by side with this library: a one-node model
 * (com.microsoft MultiHeadAttention, which ORT's WebGPU EP runs with its FlashAttention program),
 * inputs and output kept in GPU buffers so that a run times the kernels, not uploads.
 *
 * Node only, on Dawn (the `webgpu` package). Two shims, both local to this process:
 * - ORT's WebAssembly heap is a SharedArrayBuffer, and Dawn's `queue.writeBuffer` rejects views of
 *   one ("Invalid argument"); Chromium accepts them. The shim copies such views first.
 * - `navigator.gpu` is Dawn's GPU behind a wrapper that can hide the adapter's subgroup features:
 *   ORT's FlashAttention with subgroups assumes 8 or more lanes (it shuffles from lanes 0–15) and
 *   returns wrong results on SwiftShader's 4-lane subgroups; without them it takes its
 *   workgroup-memory path. `checkOrt` measures both, and the timed path is the correct one.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { makeInputs, referenceRows, sampleRows, swapHeadsAndRows, worstError } from './check';
import { mhaModel } from './onnx-model';

type Ort = typeof import('onnxruntime-web/webgpu');
type Session = import('onnxruntime-web/webgpu').InferenceSession;
type OrtTensor = import('onnxruntime-web/webgpu').Tensor;

const SUBGROUP_FEATURES = ['subgroups', 'subgroup-size-control'];

export interface OrtInputs {
  /** Keys and values: L. */
  length: number;
  /** Queries (default `length`): 1 for a decode step. */
  queryLength?: number;
  /** q [1, Lq, H·D], k and v [1, L, H·D] (the bshd memory order). */
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  /** For a session made with `past`: past_key and past_value [1, H, P, D] (BNSH, P = their length). */
  past?: { length: number; k: Float32Array; v: Float32Array };
}

/** Inputs bound on ORT's device; `run` submits once and resolves when the GPU has finished. */
export interface OrtRun {
  run(): Promise<void>;
  /** One run, read back to the host ([1, L, H·D]). */
  output(): Promise<Float32Array>;
  /** Frees the input buffers (the session stays). */
  release(): void;
}

/**
 * One InferenceSession of the MultiHeadAttention model, with a symbolic length so that it serves
 * every L: ORT compiles its programs once, as the library's pipeline cache does.
 */
export class OrtSession {
  constructor(
    private readonly ort: Ort,
    private readonly session: Session,
    private readonly device: GPUDevice,
    readonly heads: number,
    readonly headDim: number,
  ) {}

  bind(inputs: OrtInputs): OrtRun {
    const { device, ort, session } = this;
    const hidden = this.heads * this.headDim;
    const dims = [1, inputs.length, hidden];
    const buffers: GPUBuffer[] = [];
    const upload = (data: Float32Array, dims: number[]): OrtTensor => {
      const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
      const buffer = device.createBuffer({ label: 'ort bench input', size: data.byteLength, usage });
      device.queue.writeBuffer(buffer, 0, data as Float32Array<ArrayBuffer>);
      buffers.push(buffer);
      return ort.Tensor.fromGpuBuffer(buffer as never, { dataType: 'float32', dims });
    };
    const feeds: Record<string, OrtTensor> = {
      query: upload(inputs.q, [1, inputs.queryLength ?? inputs.length, hidden]),
      key: upload(inputs.k, dims),
      value: upload(inputs.v, dims),
    };
    if (inputs.past) {
      const pastDims = [1, this.heads, inputs.past.length, this.headDim];
      feeds.past_key = upload(inputs.past.k, pastDims);
      feeds.past_value = upload(inputs.past.v, pastDims);
    }
    const runOnce = async () => {
      const result = await session.run(feeds);
      await device.queue.onSubmittedWorkDone();
      // present_key / present_value, when the model has them, are ORT's GPU buffers: free them.
      for (const [name, tensor] of Object.entries(result)) if (name !== 'output') tensor.dispose();
      return result.output;
    };
    return {
      run: async () => (await runOnce()).dispose(),
      output: async () => {
        const out = await runOnce();
        const data = (await out.getData(true)) as Float32Array;
        return data;
      },
      release: () => buffers.forEach((b) => b.destroy()),
    };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

export class OrtWebGpu {
  /** When true, the next session's adapter hides subgroups (see the file comment). */
  hideSubgroups = true;
  private lastDevice: GPUDevice | null = null;
  /** Labels of the shader modules ORT created, in order (its program names: what it ran). */
  readonly shaderLabels: string[] = [];

  private constructor(private readonly ort: Ort) {}

  /** Loads onnxruntime-web's WebGPU build on Dawn; throws with ORT's or Dawn's own message. */
  static async load(gpu: GPU): Promise<OrtWebGpu> {
    installWriteBufferShim();
    const holder: { self?: OrtWebGpu } = {};
    (globalThis as { navigator?: unknown }).navigator = { gpu: wrapGpu(gpu, holder) };
    const ort = await import('onnxruntime-web/webgpu');
    const require = createRequire(import.meta.url);
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.wasmBinary = readFileSync(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm'));
    ort.env.logLevel = 'error';
    holder.self = new OrtWebGpu(ort);
    return holder.self;
  }

  /**
   * ORT's own KV-cache feed for one decode step, checked once (not timed): past_key and past_value
   * [1, heads, Lk − 1, headDim] (BNSH) with key and value of one new token [1, 1, heads·headDim]
   * and a query [1, 1, heads·headDim]; host tensors; with or without the present outputs in the
   * model. Returns the worst err/tol against the float64 reference over all Lk keys.
   */
  async checkPastFeed(heads: number, Lk: number, headDim: number, present = false): Promise<number> {
    const { ort } = this;
    const [P, hidden] = [Lk - 1, heads * headDim];
    const model = mhaModel({ batch: 1, heads, qLen: 1, kvLen: 1, pastLen: 'P', headDim, causal: false, present });
    const session: Session = await ort.InferenceSession.create(model, { executionProviders: ['webgpu'] });
    try {
      // bhsd data of Lk rows: query row 0 asks; keys 0…P−1 are the past, key P the new token.
      const data = makeInputs(heads, Lk, headDim);
      const rows = (t: Float32Array, first: number, end: number) => {
        const out = new Float32Array(heads * (end - first) * headDim);
        for (let h = 0; h < heads; h++)
          out.set(t.subarray((h * Lk + first) * headDim, (h * Lk + end) * headDim), h * (end - first) * headDim);
        return out;
      };
      const result = await session.run({
        query: new ort.Tensor('float32', rows(data.q, 0, 1), [1, 1, hidden]),
        key: new ort.Tensor('float32', rows(data.k, P, Lk), [1, 1, hidden]),
        value: new ort.Tensor('float32', rows(data.v, P, Lk), [1, 1, hidden]),
        past_key: new ort.Tensor('float32', rows(data.k, 0, P), [1, heads, P, headDim]),
        past_value: new ort.Tensor('float32', rows(data.v, 0, P), [1, heads, P, headDim]),
      });
      const got = (await result.output.getData()) as Float32Array;
      result.output.dispose();
      return worstError(got, referenceRows(data, false, [0]), { heads, length: 1, headDim });
    } finally {
      await session.release();
    }
  }

  get version(): string {
    return this.ort.env.versions.web ?? '?';
  }

  /** Called by the wrapped adapter: the device ORT made for its newest session. */
  deviceCreated(device: GPUDevice): void {
    this.lastDevice = device;
  }

  /**
   * A session for [1, L, heads·headDim] inputs, any L. `decode.queryLength` 1 makes a decode
   * session (query [1, 1, heads·headDim], key and value any L); `decode.past` adds past_key and
   * past_value inputs [1, heads, P, headDim] and the present_key / present_value outputs (ORT's
   * KV-cache feed: without those outputs, ORT 1.30 ignores the past on WebGPU; see checkPastFeed).
   */
  async session(
    heads: number,
    headDim: number,
    causal: boolean,
    decode: { queryLength?: number; past?: boolean } = {},
  ): Promise<OrtSession> {
    const past = decode.past ? { pastLen: 'P', present: true } : {};
    const model = mhaModel({ batch: 1, heads, qLen: decode.queryLength ?? 'L', kvLen: 'L', headDim, causal, ...past });
    const session: Session = await this.ort.InferenceSession.create(model, {
      executionProviders: ['webgpu'],
      preferredOutputLocation: 'gpu-buffer',
    });
    if (!this.lastDevice) throw new Error('ORT made no WebGPU device through navigator.gpu');
    return new OrtSession(this.ort, session, this.lastDevice, heads, headDim);
  }
}

/** Dawn's writeBuffer refuses views of a SharedArrayBuffer (ORT's heap); copy them first. */
function installWriteBufferShim(): void {
  const proto = (globalThis as unknown as { GPUQueue: { prototype: GPUQueue & { __benchShim?: true } } }).GPUQueue
    .prototype;
  if (proto.__benchShim) return;
  const write = proto.writeBuffer;
  proto.writeBuffer = function (
    this: GPUQueue,
    buffer: GPUBuffer,
    offset: number,
    data: BufferSource | SharedArrayBuffer,
    dataOffset?: number,
    size?: number,
  ) {
    let source = data;
    if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
      source = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
    } else if (data instanceof SharedArrayBuffer) {
      source = new Uint8Array(data).slice();
    }
    const args = [buffer, offset, source, dataOffset, size].filter((a, i) => i < 3 || a !== undefined);
    return (write as (...a: unknown[]) => undefined).apply(this, args);
  };
  proto.__benchShim = true;
}

/** navigator.gpu for ORT: Dawn's, with subgroup features hidden while `hideSubgroups` is set. */
function wrapGpu(gpu: GPU, holder: { self?: OrtWebGpu }): Partial<GPU> {
  return {
    wgslLanguageFeatures: gpu.wgslLanguageFeatures,
    getPreferredCanvasFormat: () => 'rgba8unorm',
    requestAdapter: async (options?: GPURequestAdapterOptions) => {
      const adapter = await gpu.requestAdapter(options);
      if (!adapter) return null;
      const hide = holder.self?.hideSubgroups ?? true;
      const features = new Set([...adapter.features].filter((f) => !hide || !SUBGROUP_FEATURES.includes(f)));
      return {
        features,
        limits: adapter.limits,
        info: adapter.info,
        isFallbackAdapter: false,
        requestDevice: async (descriptor?: GPUDeviceDescriptor) => {
          const device = await adapter.requestDevice(descriptor);
          recordShaderLabels(device, holder);
          holder.self?.deviceCreated(device);
          return device;
        },
      } as unknown as GPUAdapter;
    },
  };
}

/** Records the label of every shader module ORT creates on `device` (ORT labels them with its program names). */
function recordShaderLabels(device: GPUDevice, holder: { self?: OrtWebGpu }): void {
  const create = device.createShaderModule.bind(device);
  try {
    Object.defineProperty(device, 'createShaderModule', {
      configurable: true,
      value: (descriptor: GPUShaderModuleDescriptor) => {
        holder.self?.shaderLabels.push(descriptor.label ?? '(unlabelled)');
        return create(descriptor);
      },
    });
  } catch {
    /* the report then says the programs are unknown */
  }
}

/** What the ORT check found, as lines for the report. */
export interface OrtStatus {
  loaded: boolean;
  lines: string[];
  /** Worst error / tolerance at the check size, with the adapter's subgroups and without. */
  withSubgroups?: number;
  withoutSubgroups?: number;
}

/**
 * Checks ORT against the float64 reference on a small case (H=8, L=64, D=64, causal and not),
 * once with subgroups (its FlashAttention's subgroup path) and once without. The timed path is
 * the first that is right: with the adapter's subgroups where they give the right answer (a GPU
 * with 8 or more lanes), else with them hidden (SwiftShader's 4 lanes). Leaves `hideSubgroups` so.
 */
export async function checkOrt(ort: OrtWebGpu): Promise<OrtStatus> {
  const [heads, length, headDim] = [8, 64, 64];
  const worst = { with: 0, without: 0 };
  const inputs = makeInputs(heads, length, headDim);
  const bshd = (t: Float32Array) => swapHeadsAndRows(t, heads, length, headDim);
  const t0 = performance.now();
  for (const hide of [false, true]) {
    ort.hideSubgroups = hide;
    for (const causal of [false, true]) {
      const session = await ort.session(heads, headDim, causal);
      const run = session.bind({ length, q: bshd(inputs.q), k: bshd(inputs.k), v: bshd(inputs.v) });
      try {
        const got = swapHeadsAndRows(await run.output(), length, heads, headDim);
        const error = worstError(got, referenceRows(inputs, causal, sampleRows(length, length)), inputs);
        worst[hide ? 'without' : 'with'] = Math.max(worst[hide ? 'without' : 'with'], error);
      } finally {
        run.release();
        await session.release();
      }
    }
  }
  ort.hideSubgroups = !(worst.with <= 1);
  const timed = (hidden: boolean) => (ort.hideSubgroups === hidden ? ' — the path timed below' : '');
  const verdict = (e: number) =>
    e <= 1 ? `ok (worst err/tol ${e.toFixed(2)})` : `WRONG (worst err/tol ${e.toExponential(2)})`;
  const why =
    " — its subgroup path reads keys from lanes 0–7 (or 0–15) with subgroupShuffle, and this device's subgroups have 4 lanes";
  return {
    loaded: true,
    withSubgroups: worst.with,
    withoutSubgroups: worst.without,
    lines: [
      `ORT: onnxruntime-web ${ort.version}, WebGPU EP (native, asyncify build), com.microsoft MultiHeadAttention (runs ORT's FlashAttention program); ` +
        `check at H=8 L=64 D=64 against the reference (${((performance.now() - t0) / 1000).toFixed(0)} s, most of it ORT's one-time start-up):`,
      `  with the adapter's subgroups: ${verdict(worst.with)}${worst.with > 1 ? why : ''}${timed(false)}`,
      `  subgroups hidden from ORT (its workgroup-memory path): ${verdict(worst.without)}${timed(true)}`,
    ],
  };
}

/** One session per causal flag, made at first use and kept for every length. */
export class OrtSessions {
  private readonly sessions = new Map<boolean, Promise<OrtSession>>();

  constructor(
    private readonly ort: OrtWebGpu,
    private readonly heads: number,
    private readonly headDim: number,
  ) {}

  session(causal: boolean): Promise<OrtSession> {
    let session = this.sessions.get(causal);
    if (!session) {
      session = this.ort.session(this.heads, this.headDim, causal);
      this.sessions.set(causal, session);
    }
    return session;
  }

  async release(): Promise<void> {
    for (const session of this.sessions.values()) await (await session.catch(() => null))?.release();
    this.sessions.clear();
  }
}
