/**
 * The conformance vectors (ONNX and ONNX Runtime attention tests) through the float64 reference:
 * `reference.sdpa`, or `reference.multiHeadAttention` for ONNX Runtime's Attention (which projects
 * its input). Every case either runs and matches within the case's own tolerance, or is one of the
 * named UNSUPPORTED_CASES (test/helpers/conformance.ts, now none) with the operation it still needs.
 * The 5 float16 cases run on their exact values (every f16 is a float64) with their fp16 tolerances.
 *
 * Only an output the library computed counts as compared. present_key/present_value are built by
 * the harness itself (the library keeps no KV cache): they are checked as a test of the mapping,
 * listed as not compared, and never counted.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { reference } from '../../src/reference/index';
import {
  allClose,
  isMhaCall,
  loadConformanceCases,
  toConformanceCall,
  unsupportedById,
  UNSUPPORTED_CASES,
  type MhaCall,
  type SdpaCall,
  type Unsupported,
} from '../helpers/conformance';

const cases = loadConformanceCases();
const mapped = cases.map(toConformanceCall);
const supported = mapped.filter((m): m is SdpaCall => !('unsupported' in m) && !isMhaCall(m));
const layers = mapped.filter(isMhaCall);
const unsupported = mapped.filter((m): m is Unsupported => 'unsupported' in m);
/** `${case id} ${output name}` of each library output that matched the case's expected output. */
const compared: string[] = [];

/** The cases with qk_matmul_output in mode 3 (softmax probabilities), compared with sdpa's weights. */
const WEIGHTS_COMPARED = [
  'onnx-node/test_attention_23_fullymasked_qk_matmul_output_mode3_zero',
  'onnx-node/test_attention_24_fullymasked_qk_matmul_output_mode3_zero',
  'onnx-node/test_attention_24_qk_matmul_output_mode3_softmax_precision',
  'onnx-node/test_attention_4d_with_qk_matmul_softmax',
  'onnx-ref-window/test_attention_local_window_gqa_rank4_mask',
];

/** A case's layer config: packed inProj and its bias, the copying outProj, an explicit head dim. */
const layerConfig = (m: MhaCall) => ({
  embedDim: m.embedDim,
  numHeads: m.numHeads,
  headDim: m.headDim,
  weights: m.weights,
});

describe('conformance (reference)', () => {
  it('loads all 146 cases with unique ids and a source', () => {
    expect(cases.length).toBe(146);
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
    for (const c of cases) expect(c.source, c.id).toHaveProperty('repo');
  });

  it('runs all 146 cases (the 5 float16 ones too): 136 through sdpa, 10 as multi-head layers', () => {
    // Fails when a case drifts into "unsupported" or a listed one starts running: update the list then.
    expect(unsupportedById(mapped)).toEqual(UNSUPPORTED_CASES);
    expect(unsupported.length).toBe(0);
    expect(supported.length).toBe(136);
    expect(layers.length).toBe(10);
    expect(layers.map((m) => m.id)).toEqual(cases.filter((c) => c.op === 'ort.Attention').map((c) => c.id));
    expect(supported.filter((s) => s.expectedWeights).map((s) => s.id)).toEqual(WEIGHTS_COMPARED);
  });

  it("rebuilds present_key/present_value with the harness's own concatenation (a check of the mapping, not of the library)", () => {
    const checks = supported.flatMap((s) => s.mappingChecks.map((h) => ({ id: s.id, tolerance: s.tolerance, ...h })));
    // 35 cases keep present_key and present_value (5 onnx-node/onnx-ref-window, 13 ort-testdata/ort-web MHA, 17 GQA).
    expect(checks.length).toBe(70);
    for (const h of checks) {
      // The concatenation is exact, but ORT's stored present_* went through its own f32 bias add.
      const c = allClose(h.hostBuilt, h.expected.data, h.tolerance);
      expect(c.ok, `${h.id} ${h.name}: ${c.detail}`).toBe(true);
    }
  });

  for (const call of layers) {
    it(`${call.id} (reference.multiHeadAttention)`, () => {
      const y = reference.multiHeadAttention(layerConfig(call)).forward(call.x, { scale: call.scale });
      const r = allClose(call.reshapeOutput(y), call.expected.data, call.tolerance);
      expect(r.ok, `${call.expected.name}: ${r.detail}`).toBe(true);
      compared.push(`${call.id} ${call.expected.name}`);
    });
  }

  for (const call of supported) {
    it(call.id, () => {
      const r = reference.sdpa(call.q, call.k, call.v, { ...call.options, returnWeights: true });
      const y = allClose(call.reshapeOutput(r.output), call.expected.data, call.tolerance);
      expect(y.ok, `${call.expected.name}: ${y.detail}`).toBe(true);
      compared.push(`${call.id} ${call.expected.name}`);
      if (call.expectedWeights) {
        const w = allClose(r.weights.data, call.expectedWeights.data, call.tolerance);
        expect(w.ok, `qk_matmul_output: ${w.detail}`).toBe(true);
        compared.push(`${call.id} ${call.expectedWeights.name}`);
      }
    });
  }

  // Runs after every case above (tests in a file run in order); fails if any of them failed or was skipped.
  it('compared 151 library outputs: 136 Y/output from sdpa, 10 from the layer, 5 qk_matmul_output weights', () => {
    expect(compared.length).toBe(151);
    expect(new Set(compared).size).toBe(151);
    // Every other output is listed as not compared: 3 qk_matmul_output in modes 0-2, 35 × 2 present_*.
    const notCompared = supported.flatMap((s) => s.notCompared);
    expect(notCompared.length).toBe(73);
    expect(cases.flatMap((c) => c.outputs).length).toBe(151 + 73);
  });

  afterAll(() => {
    const byReason = new Map<string, string[]>();
    for (const s of supported) for (const n of s.notCompared) byReason.set(n, [...(byReason.get(n) ?? []), s.id]);
    const partial = [...byReason].map(
      ([n, ids]) => `${n}: ${ids.length} cases${ids.length <= 5 ? ` (${ids.join(', ')})` : ''}`,
    );
    const list = unsupported.map((u) => `${u.id}: ${u.unsupported}`);
    console.log(
      `conformance (reference): ${compared.length} outputs compared in ${supported.length + layers.length} cases (${layers.length} as multi-head layers), ${unsupported.length} unsupported: [${list.join(', ')}]`,
    );
    if (partial.length) console.log(`conformance (reference): outputs not compared: [${partial.join('; ')}]`);
  });
});
