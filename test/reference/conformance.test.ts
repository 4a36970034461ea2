/**
 * The conformance vectors (ONNX and ONNX Runtime attention tests) through the float64 reference:
 * `reference.sdpa`, or `reference.multiHeadAttention` for ONNX Runtime's Attention (which projects
 * its input). Every case either runs and matches within the case's own tolerance, or is listed
 * with the operation it still needs.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { reference } from '../../src/reference/index';
import {
  allClose,
  isMhaCall,
  loadConformanceCases,
  toConformanceCall,
  type MhaCall,
  type SdpaCall,
  type Unsupported,
} from '../helpers/conformance';

const cases = loadConformanceCases();
const mapped = cases.map(toConformanceCall);
const supported = mapped.filter((m): m is SdpaCall => !('unsupported' in m) && !isMhaCall(m));
const layers = mapped.filter(isMhaCall);
const unsupported = mapped.filter((m): m is Unsupported => 'unsupported' in m);
const passed: string[] = [];

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

  it('lists every unsupported case with a reason', () => {
    for (const u of unsupported) expect(u.unsupported, u.id).toMatch(/^needs /);
    expect(supported.length + layers.length + unsupported.length).toBe(cases.length);
    // Guards the mapping itself: plain sdpa cases must not slip into the unsupported list.
    expect(supported.length).toBeGreaterThanOrEqual(100);
    expect(layers.map((m) => m.id)).toEqual(cases.filter((c) => c.op === 'ort.Attention').map((c) => c.id));
    expect(layers.length).toBe(10);
  });

  for (const call of layers) {
    it(`${call.id} (reference.multiHeadAttention)`, () => {
      const y = reference.multiHeadAttention(layerConfig(call)).forward(call.x, { scale: call.scale });
      const r = allClose(call.reshapeOutput(y), call.expected.data, call.tolerance);
      expect(r.ok, `${call.expected.name}: ${r.detail}`).toBe(true);
      passed.push(call.id);
    });
  }

  for (const call of supported) {
    it(call.id, () => {
      const r = reference.sdpa(call.q, call.k, call.v, { ...call.options, returnWeights: true });
      const y = allClose(call.reshapeOutput(r.output), call.expected.data, call.tolerance);
      expect(y.ok, `${call.expected.name}: ${y.detail}`).toBe(true);
      if (call.expectedWeights) {
        const w = allClose(r.weights.data, call.expectedWeights.data, call.tolerance);
        expect(w.ok, `qk_matmul_output: ${w.detail}`).toBe(true);
      }
      for (const h of call.hostChecks) {
        // The concatenation is exact, but ORT's stored present_* went through its own f32 bias add.
        const c = allClose(h.actual, h.expected.data, call.tolerance);
        expect(c.ok, `${h.name}: ${c.detail}`).toBe(true);
      }
      passed.push(call.id);
    });
  }

  afterAll(() => {
    const partial = supported
      .filter((s) => s.notCompared.length)
      .map((s) => `${s.id} (not compared: ${s.notCompared.join('; ')})`);
    const list = unsupported.map((u) => `${u.id}: ${u.unsupported}`);
    console.log(
      `conformance (reference): ${passed.length} passed (${layers.length} as multi-head layers), ${unsupported.length} unsupported: [${list.join(', ')}]`,
    );
    if (partial.length) console.log(`conformance (reference): outputs not compared: [${partial.join(', ')}]`);
  });
});
