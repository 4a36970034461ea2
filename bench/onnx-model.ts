/**
 * A one-node ONNX model, encoded by hand (ONNX's protobuf schema, onnx.proto3): com.microsoft
 * MultiHeadAttention with query, key and value as graph inputs of shape [B, L, H·D]. Only the
 * handful of fields the model needs are written; field numbers are onnx.proto's.
 * @example
 * const bytes = mhaModel({ batch: 1, heads: 8, qLen: 'L', kvLen: 'L', headDim: 64, causal: true });
 * const session = await ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'] });
 */

/** Protobuf wire encoding of the few types used: varints, length-delimited fields, fixed32 floats. */
class ProtoWriter {
  private readonly bytes: number[] = [];

  private varint(value: number): void {
    let v = BigInt(value);
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) byte |= 0x80;
      this.bytes.push(byte);
    } while (v > 0n);
  }

  private key(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  int(field: number, value: number): this {
    this.key(field, 0);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, 5);
    const buf = new Uint8Array(4);
    new DataView(buf.buffer).setFloat32(0, value, true);
    this.bytes.push(...buf);
    return this;
  }

  string(field: number, value: string): this {
    return this.raw(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.raw(field, inner.finish());
  }

  private raw(field: number, payload: Uint8Array): this {
    this.key(field, 2);
    this.varint(payload.length);
    this.bytes.push(...payload);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

// onnx.proto field numbers.
const MODEL = { irVersion: 1, producerName: 2, graph: 7, opsetImport: 8 } as const;
const OPSET = { domain: 1, version: 2 } as const;
const GRAPH = { node: 1, name: 2, input: 11, output: 12 } as const;
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 } as const;
const ATTRIBUTE = { name: 1, f: 2, i: 3, type: 20 } as const;
const ATTRIBUTE_TYPE = { FLOAT: 1, INT: 2 } as const;
const VALUE_INFO = { name: 1, type: 2 } as const;
const TYPE = { tensorType: 1 } as const;
const TENSOR_TYPE = { elemType: 1, shape: 2 } as const;
const SHAPE = { dim: 1 } as const;
const DIM = { value: 1, param: 2 } as const;
const FLOAT32 = 1;

export interface MhaModelSpec {
  batch: number;
  heads: number;
  /** A number, or a name (a symbolic dimension: one session then serves every length). */
  qLen: number | string;
  kvLen: number | string;
  headDim: number;
  /** MultiHeadAttention's `unidirectional` attribute (causal, upper-left). */
  causal: boolean;
  /** Default 1/√headDim (MultiHeadAttention's own default, written out so nothing is implicit). */
  scale?: number;
  /**
   * Adds the inputs past_key and past_value, [batch, heads, pastLen, headDim] (BNSH: a KV cache),
   * as MultiHeadAttention's inputs 6 and 7 (inputs 3–5, bias, key_padding_mask and
   * attention_bias, stay absent). Attention then covers pastLen + kvLen keys.
   */
  pastLen?: number | string;
  /** Adds the outputs present_key and present_value, [batch, heads, pastLen + kvLen, headDim] (symbolic 'T'). */
  present?: boolean;
}

function valueInfo(w: ProtoWriter, name: string, dims: Array<number | string>): void {
  w.string(VALUE_INFO.name, name).message(VALUE_INFO.type, (t) =>
    t.message(TYPE.tensorType, (tt) =>
      tt.int(TENSOR_TYPE.elemType, FLOAT32).message(TENSOR_TYPE.shape, (s) => {
        for (const d of dims)
          s.message(SHAPE.dim, (dim) => (typeof d === 'number' ? dim.int(DIM.value, d) : dim.string(DIM.param, d)));
      }),
    ),
  );
}

/** The serialized ModelProto (IR version 8, opset 17 + com.microsoft 1). */
export function mhaModel(spec: MhaModelSpec): Uint8Array {
  const hidden = spec.heads * spec.headDim;
  const scale = spec.scale ?? 1 / Math.sqrt(spec.headDim);
  const model = new ProtoWriter()
    .int(MODEL.irVersion, 8)
    .string(MODEL.producerName, 'webgpu-attention bench')
    .message(MODEL.opsetImport, (o) => o.string(OPSET.domain, '').int(OPSET.version, 17))
    .message(MODEL.opsetImport, (o) => o.string(OPSET.domain, 'com.microsoft').int(OPSET.version, 1))
    .message(MODEL.graph, (g) => {
      g.message(GRAPH.node, (n) => {
        const inputs = [
          'query',
          'key',
          'value',
          ...(spec.pastLen !== undefined ? ['', '', '', 'past_key', 'past_value'] : []),
        ];
        for (const input of inputs) n.string(NODE.input, input); // '' = an absent optional input
        n.string(NODE.output, 'output');
        if (spec.present) n.string(NODE.output, 'present_key').string(NODE.output, 'present_value');
        n.string(NODE.name, 'mha')
          .string(NODE.opType, 'MultiHeadAttention')
          .string(NODE.domain, 'com.microsoft')
          .message(NODE.attribute, (a) =>
            a.string(ATTRIBUTE.name, 'num_heads').int(ATTRIBUTE.i, spec.heads).int(ATTRIBUTE.type, ATTRIBUTE_TYPE.INT),
          )
          .message(NODE.attribute, (a) =>
            a.string(ATTRIBUTE.name, 'scale').float(ATTRIBUTE.f, scale).int(ATTRIBUTE.type, ATTRIBUTE_TYPE.FLOAT),
          );
        if (spec.causal) {
          n.message(NODE.attribute, (a) =>
            a.string(ATTRIBUTE.name, 'unidirectional').int(ATTRIBUTE.i, 1).int(ATTRIBUTE.type, ATTRIBUTE_TYPE.INT),
          );
        }
      });
      g.string(GRAPH.name, 'mha');
      g.message(GRAPH.input, (v) => valueInfo(v, 'query', [spec.batch, spec.qLen, hidden]));
      g.message(GRAPH.input, (v) => valueInfo(v, 'key', [spec.batch, spec.kvLen, hidden]));
      g.message(GRAPH.input, (v) => valueInfo(v, 'value', [spec.batch, spec.kvLen, hidden]));
      if (spec.pastLen !== undefined) {
        for (const name of ['past_key', 'past_value'])
          g.message(GRAPH.input, (v) => valueInfo(v, name, [spec.batch, spec.heads, spec.pastLen!, spec.headDim]));
      }
      g.message(GRAPH.output, (v) => valueInfo(v, 'output', [spec.batch, spec.qLen, hidden]));
      if (spec.present) {
        for (const name of ['present_key', 'present_value'])
          g.message(GRAPH.output, (v) => valueInfo(v, name, [spec.batch, spec.heads, 'T', spec.headDim]));
      }
    });
  return model.finish();
}
