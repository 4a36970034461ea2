/**
 * Layout snapshots: the bindings and uniform members reflected from each shader. A change to a
 * WGSL struct or binding shows up here as a snapshot diff, and packing must follow it.
 */
import { describe, expect, it } from 'vitest';
import { shaderLayout } from '../../src/gpu/shader-layout';
import { packUniforms } from '../../src/gpu/uniforms';
import { SHADERS } from '../../src/shaders';

const ENTRY_POINTS: [keyof typeof SHADERS, string][] = [
  ['sdpa', 'sdpa_forward'],
  ['sdpa', 'sdpa_topk'],
  ['sdpaMerge', 'sdpa_merge'],
  ['sdpaNaive', 'sdpa_naive_scores'],
  ['sdpaNaive', 'sdpa_naive_softmax'],
  ['sdpaNaive', 'sdpa_naive_output'],
  ['local', 'local_neighborhood'],
  ['linear', 'linear_matmul'],
  ['linearAttention', 'linear_attention_state'],
  ['linearAttention', 'linear_attention_output'],
  ['linformer', 'linformer_project'],
  ['additive', 'additive_forward'],
  ['additive', 'additive_weights'],
  ['vision', 'vision_pool'],
  ['vision', 'vision_channel_mlp'],
  ['vision', 'vision_spatial_conv'],
  ['vision', 'vision_scale'],
  ['rollout', 'rollout_fuse'],
  ['rollout', 'rollout_rows'],
  ['graph', 'graph_scores'],
  ['graph', 'graph_softmax'],
  ['graph', 'graph_aggregate'],
];

describe('reflected shader layouts', () => {
  for (const [shader, entry] of ENTRY_POINTS) {
    it(entry, () => {
      const layout = shaderLayout(SHADERS[shader].source, entry);
      const members = [...(layout.uniform?.members.values() ?? [])].map((m) => `${m.offset}: ${m.name} ${m.type}`);
      expect({
        bindings: layout.bindings.map((b) => `${b.binding}: ${b.name} (${b.kind})`),
        uniform: layout.uniform && { struct: layout.uniform.structName, size: layout.uniform.size, members },
      }).toMatchSnapshot();
    });
  }

  it('packing refuses a missing or unknown member, naming it', () => {
    const { uniform } = shaderLayout(SHADERS.sdpa.source, 'sdpa_forward');
    expect(() => packUniforms(uniform!, {})).toThrowErrorMatchingInlineSnapshot(
      `[Error: SdpaParams.batch has no value]`,
    );
    expect(() => packUniforms(uniform!, { not_a_member: 1 })).toThrowErrorMatchingInlineSnapshot(
      `[Error: SdpaParams has no member 'not_a_member']`,
    );
  });
});
